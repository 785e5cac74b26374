package django

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/osms/sports-service/repository"
)

// The change and delete forms carry the version of the record they were
// rendered from, in a hidden field. A save makes the write conditional on it,
// so that of two people editing the same record the second one's save is
// refused instead of silently undoing the first one's.
const versionField = "version"

// formVersion is the hidden field's value for a version the store reported.
func formVersion(v *repository.Version) string {
	if !v.Set {
		return ""
	}
	return repository.FormatVersion(v.Value)
}

// ifFormVersion is the request's context, conditional on the form's version
// when it carries one (a form rendered before versions existed does not).
func ifFormVersion(r *http.Request) context.Context {
	ctx := r.Context()
	if v, err := strconv.ParseInt(r.PostForm.Get(versionField), 10, 64); err == nil {
		return repository.WithIfMatch(ctx, v)
	}
	return ctx
}

// changedMeanwhile answers a save refused because the record changed since
// the form was opened: the form again, now with what is stored and its
// version, and a message saying what happened. It reports whether it did.
func (a *App) changedMeanwhile(w http.ResponseWriter, r *http.Request, v *visitor, res *resource, id int64, deleting bool, err error) bool {
	var pf *repository.PreconditionFailedError
	if !errors.As(err, &pf) {
		return false
	}
	ctx, version := repository.WithVersionSink(r.Context())
	values, what, loadErr := res.load(ctx, id)
	if loadErr != nil {
		a.storeFailure(w, r, loadErr, v)
		return true
	}
	msg := fmt.Sprintf("This %s was changed by someone else since you opened it, so your changes were not saved. "+
		"The form now shows what is stored; make your change again and save.", res.singular)
	if deleting {
		msg = fmt.Sprintf("This %s was changed by someone else since you opened it, so it was not deleted. "+
			"Check what is stored now and confirm again.", res.singular)
		a.renderDeleteVersion(w, r, v, res, id, what, nil, formVersion(version), msg)
		return true
	}
	a.renderFormVersion(w, r, v, res, id, values, nil, formVersion(version), msg)
	return true
}
