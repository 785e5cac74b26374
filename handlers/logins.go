package handlers

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/osms/sports-service/models"
)

// registerLoginExtras adds the login operations that are not plain CRUD.
func registerLoginExtras(api huma.API, em errorMapper, store Store) {
	tags := []string{"logins"}
	huma.Register(api, huma.Operation{
		OperationID: "update-login-password", Method: http.MethodPatch, Path: "/ch11/login/update",
		Summary: "Change a login's password",
		Description: "Takes the current password and the new one in the JSON body (never in the URL); " +
			"answers 401 when the current password is wrong.",
		Tags:   tags,
		Errors: append([]int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity}, commonErrors...),
	}, func(ctx context.Context, in *bodyInput[models.LoginUpdate]) (*bodyOutput[models.Login], error) {
		l, err := store.ChangePassword(ctx, in.Body)
		if err != nil {
			return nil, em.problem(ctx, err)
		}
		return &bodyOutput[models.Login]{Body: l}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "verify-login", Method: http.MethodPost, Path: "/ch11/login/verify",
		Summary:     "Check a username and password",
		Description: "200 with the login when they match, 401 otherwise; takes as long for an unknown username as for a wrong password.",
		Tags:        tags,
		Errors:      append([]int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity}, commonErrors...),
	}, func(ctx context.Context, in *bodyInput[models.LoginVerify]) (*bodyOutput[models.Login], error) {
		l, err := store.VerifyLogin(ctx, in.Body.Username, in.Body.Password)
		if err != nil {
			return nil, em.problem(ctx, err)
		}
		return &bodyOutput[models.Login]{Body: l}, nil
	})
}
