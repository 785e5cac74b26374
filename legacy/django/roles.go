package django

import (
	"net/http"

	"github.com/osms/sports-service/models"
)

// canChange reports whether the visitor may add, change or delete records:
// with roles enforced, only an admin may; a viewer sees them.
func (a *App) canChange(v *visitor) bool {
	return v != nil && (!a.cfg.EnforceRoles || v.login.Role == models.RoleAdmin)
}

// adminOnly answers 403 to a visitor who may not change records, before the
// form is shown or a submitted one is read.
func (a *App) adminOnly(h authedHandler) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, v *visitor) {
		if !a.canChange(v) {
			a.errorPage(w, r, http.StatusForbidden, "Permission denied",
				"Your login has the viewer role: it may see records but not add, change or delete them.", v)
			return
		}
		h(w, r, v)
	}
}
