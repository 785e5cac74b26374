package django

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/osms/sports-service/legacy"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

// title is the plural with a capital, for headings.
func (res *resource) title() string { return strings.ToUpper(res.plural[:1]) + res.plural[1:] }

func (a *App) resource(slug string) *resource {
	for _, res := range a.resources {
		if res.slug == slug {
			return res
		}
	}
	return nil
}

// target resolves {kind} and, where the route has one, {id}; it answers 404
// itself when either does not name anything.
func (a *App) target(w http.ResponseWriter, r *http.Request, v *visitor, withID bool) (*resource, int64, bool) {
	res := a.resource(r.PathValue("kind"))
	var id int64
	var err error
	if withID {
		id, err = strconv.ParseInt(r.PathValue("id"), 10, 64)
	}
	if res == nil || err != nil {
		a.errorPage(w, r, http.StatusNotFound, "Page not found", "There is nothing at this address.", v)
		return nil, 0, false
	}
	return res, id, true
}

func (a *App) crumbs(r *http.Request, res *resource, last string) []crumb {
	p := legacy.PrefixFrom(r.Context())
	c := []crumb{{Label: "Home", URL: p.App("/admin/")}}
	if res != nil {
		c = append(c, crumb{Label: res.title(), URL: p.App("/admin/" + res.slug + "/")})
	}
	if last != "" {
		c = append(c, crumb{Label: last})
	}
	return c
}

type modelLink struct {
	Plural, ListURL, AddURL string
}

func (a *App) dashboard(w http.ResponseWriter, r *http.Request, v *visitor) {
	p := a.newPage(r, "Site administration", v)
	links := make([]modelLink, len(a.resources))
	for i, res := range a.resources {
		links[i] = modelLink{
			Plural:  res.title(),
			ListURL: p.URL("/admin/" + res.slug + "/"),
			AddURL:  p.URL("/admin/" + res.slug + "/add/"),
		}
	}
	p.Data = links
	a.render(w, r, http.StatusOK, "index", p)
}

type listData struct {
	Singular, Plural, SearchHint string
	Columns                      []string
	Rows                         []listRow
	Query                        string
	ListURL, AddURL              string
	FirstURL, NextURL            string
}

type listRow struct {
	Cells     []string
	ChangeURL string
}

// doneMessages are the confirmations a redirect after a change can ask for;
// only these fixed texts are shown, never text from the URL.
var doneMessages = map[string]string{
	"added":   "The %s was added.",
	"changed": "The %s was changed.",
	"deleted": "The %s was deleted.",
}

// list shows one keyset page: ?after=<last id of the previous page>&limit=&q=.
func (a *App) list(w http.ResponseWriter, r *http.Request, v *visitor) {
	res, _, ok := a.target(w, r, v, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	search := strings.TrimSpace(q.Get("q"))
	verb := "change"
	if !a.canChange(v) {
		verb = "view"
	}
	p := a.newPage(r, "Select "+res.singular+" to "+verb, v)
	p.Crumbs = a.crumbs(r, res, "")
	if msg, ok := doneMessages[q.Get("done")]; ok {
		p.Flash = fmt.Sprintf(msg, res.singular)
	}
	d := listData{
		Singular: res.singular, Plural: res.plural, SearchHint: res.searchHint, Columns: res.columns, Query: search,
		ListURL: p.URL("/admin/" + res.slug + "/"), AddURL: p.URL("/admin/" + res.slug + "/add/"),
	}
	var rows []row
	// One more than the page tells whether there is a next page.
	err = res.list(r.Context(), repository.ListQuery{After: max(after, 0), Limit: limit + 1, Search: search}, func(rw row) { rows = append(rows, rw) })
	if err != nil {
		a.storeFailure(w, r, err, v)
		return
	}
	pageQuery := func(after int64) string {
		u := url.Values{}
		if search != "" {
			u.Set("q", search)
		}
		if limit != DefaultPageSize {
			u.Set("limit", strconv.Itoa(limit))
		}
		if after > 0 {
			u.Set("after", strconv.FormatInt(after, 10))
		}
		if len(u) == 0 {
			return d.ListURL
		}
		return d.ListURL + "?" + u.Encode()
	}
	if len(rows) > limit {
		rows = rows[:limit]
		d.NextURL = pageQuery(rows[len(rows)-1].ID)
	}
	if after > 0 {
		d.FirstURL = pageQuery(0)
	}
	for _, rw := range rows {
		d.Rows = append(d.Rows, listRow{Cells: rw.Cells, ChangeURL: p.URL(fmt.Sprintf("/admin/%s/%d/change/", res.slug, rw.ID))})
	}
	p.Data = d
	a.render(w, r, http.StatusOK, "list", p)
}

type formField struct {
	field
	Value    string
	ReadOnly bool
	Errors   []string
}

type formData struct {
	Fields         []formField
	Action, Cancel string
	Delete         string
	// Version is that of the record the change form was filled from; the
	// save is refused if the record has changed since (see versions.go).
	Version string
}

// renderForm shows the add or change form with values and errors. Errors
// that name no field of the form (none should) are shown above it.
func (a *App) renderForm(w http.ResponseWriter, r *http.Request, v *visitor, res *resource, id int64, values url.Values, errs []models.FieldError) {
	a.renderFormVersion(w, r, v, res, id, values, errs, r.PostForm.Get(versionField), "")
}

func (a *App) renderFormVersion(w http.ResponseWriter, r *http.Request, v *visitor, res *resource, id int64, values url.Values, errs []models.FieldError,
	version, conflict string) {
	adding := id == 0
	fields := res.changeFields
	title := "Change " + res.singular
	if !a.canChange(v) {
		title = "View " + res.singular
	}
	if adding {
		fields = res.addFields
		title = "Add " + res.singular
	}
	p := a.newPage(r, title, v)
	p.Crumbs = a.crumbs(r, res, title)
	d := formData{Cancel: p.URL("/admin/" + res.slug + "/"), Version: version}
	if adding {
		d.Action = p.URL("/admin/" + res.slug + "/add/")
	} else {
		d.Action = p.URL(fmt.Sprintf("/admin/%s/%d/change/", res.slug, id))
		d.Delete = p.URL(fmt.Sprintf("/admin/%s/%d/delete/", res.slug, id))
	}
	byField := map[string][]string{}
	for _, e := range errs {
		name, _, _ := strings.Cut(e.Field, "[") // officials[1] is shown at officials
		byField[name] = append(byField[name], e.Message)
	}
	var unplaced []string
	for _, f := range fields {
		ff := formField{field: f, ReadOnly: f.Key && !adding || !a.canChange(v), Errors: byField[f.Name]}
		if f.Type != "password" {
			ff.Value = values.Get(f.Name)
		}
		d.Fields = append(d.Fields, ff)
		delete(byField, f.Name)
	}
	for name, msgs := range byField {
		for _, m := range msgs {
			unplaced = append(unplaced, name+": "+m)
		}
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
		p.Error = "Please correct the errors below."
		if len(unplaced) > 0 {
			p.Error += " " + strings.Join(unplaced, "; ")
		}
	}
	if conflict != "" {
		status, p.Error = http.StatusConflict, conflict
	}
	p.Data = d
	a.render(w, r, status, "form", p)
}

func (a *App) addPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	if res, _, ok := a.target(w, r, v, false); ok {
		a.renderForm(w, r, v, res, 0, url.Values{}, nil)
	}
}

func (a *App) addSubmit(w http.ResponseWriter, r *http.Request, v *visitor) {
	res, _, ok := a.target(w, r, v, false)
	if !ok {
		return
	}
	_, errs, err := res.create(r.Context(), r.PostForm)
	if err != nil {
		a.storeFailure(w, r, err, v)
		return
	}
	if len(errs) > 0 {
		a.renderForm(w, r, v, res, 0, withoutSecrets(r.PostForm, res.addFields), errs)
		return
	}
	redirect(w, r, "/admin/"+res.slug+"/?done=added")
}

func (a *App) changePage(w http.ResponseWriter, r *http.Request, v *visitor) {
	res, id, ok := a.target(w, r, v, true)
	if !ok {
		return
	}
	ctx, version := repository.WithVersionSink(r.Context())
	values, _, err := res.load(ctx, id)
	if err != nil {
		a.storeFailure(w, r, err, v)
		return
	}
	a.renderFormVersion(w, r, v, res, id, values, nil, formVersion(version), "")
}

func (a *App) changeSubmit(w http.ResponseWriter, r *http.Request, v *visitor) {
	res, id, ok := a.target(w, r, v, true)
	if !ok {
		return
	}
	errs, err := res.update(ifFormVersion(r), id, r.PostForm)
	if a.changedMeanwhile(w, r, v, res, id, false, err) {
		return
	}
	if err != nil {
		a.storeFailure(w, r, err, v)
		return
	}
	if len(errs) > 0 {
		values := withoutSecrets(r.PostForm, res.changeFields)
		if stored, _, err := res.load(r.Context(), id); err == nil {
			for _, f := range res.changeFields {
				if f.Key {
					values.Set(f.Name, stored.Get(f.Name)) // fixed fields show what is stored
				}
			}
		}
		a.renderForm(w, r, v, res, id, values, errs)
		return
	}
	redirect(w, r, "/admin/"+res.slug+"/?done=changed")
}

type deleteData struct {
	What           string
	Action, Cancel string
	Blocked        bool
	Version        string // as in formData
}

func (a *App) renderDelete(w http.ResponseWriter, r *http.Request, v *visitor, res *resource, id int64, what string, inUse *repository.InUseError) {
	a.renderDeleteVersion(w, r, v, res, id, what, inUse, r.PostForm.Get(versionField), "")
}

func (a *App) renderDeleteVersion(w http.ResponseWriter, r *http.Request, v *visitor, res *resource, id int64, what string, inUse *repository.InUseError,
	version, conflict string) {
	p := a.newPage(r, "Delete "+what, v)
	p.Crumbs = a.crumbs(r, res, "Delete")
	d := deleteData{
		What:    what,
		Action:  p.URL(fmt.Sprintf("/admin/%s/%d/delete/", res.slug, id)),
		Cancel:  p.URL(fmt.Sprintf("/admin/%s/%d/change/", res.slug, id)),
		Version: version,
	}
	status := http.StatusOK
	if inUse != nil {
		d.Blocked = true
		p.Error = fmt.Sprintf("Deleting %s would leave %s pointing at nothing.", what, strings.Join(inUse.Referrers, ", "))
		status = http.StatusConflict
	}
	if conflict != "" {
		status, p.Error = http.StatusConflict, conflict
	}
	p.Data = d
	a.render(w, r, status, "delete", p)
}

func (a *App) deletePage(w http.ResponseWriter, r *http.Request, v *visitor) {
	res, id, ok := a.target(w, r, v, true)
	if !ok {
		return
	}
	ctx, version := repository.WithVersionSink(r.Context())
	_, what, err := res.load(ctx, id)
	if err != nil {
		a.storeFailure(w, r, err, v)
		return
	}
	a.renderDeleteVersion(w, r, v, res, id, what, nil, formVersion(version), "")
}

func (a *App) deleteSubmit(w http.ResponseWriter, r *http.Request, v *visitor) {
	res, id, ok := a.target(w, r, v, true)
	if !ok {
		return
	}
	err := res.remove(ifFormVersion(r), id)
	if a.changedMeanwhile(w, r, v, res, id, true, err) {
		return
	}
	var inUse *repository.InUseError
	if errors.As(err, &inUse) {
		_, what, loadErr := res.load(r.Context(), id)
		if loadErr != nil {
			what = fmt.Sprintf("%s %d", res.singular, id)
		}
		a.renderDelete(w, r, v, res, id, what, inUse)
		return
	}
	if err != nil {
		a.storeFailure(w, r, err, v)
		return
	}
	redirect(w, r, "/admin/"+res.slug+"/?done=deleted")
}
