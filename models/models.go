// Package models holds the records of the sports service, their wire forms
// and the one set of validation rules that the REST API and the admin site
// both apply.
package models

import (
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Limits of the validation rules; the OpenAPI schema tags below repeat them
// and a test checks that the generated document agrees with these constants.
const (
	MinID          = 1
	MaxID          = 1<<53 - 1 // the largest integer a JSON client can hold exactly
	MinAge         = 1
	MaxAge         = 120
	MinUsername    = 3
	MaxUsername    = 64
	MinPassword    = 8
	MaxPassword    = 128
	MaxName        = 100
	MaxGameName    = 200
	MaxGameOfficls = 100
)

// Login is an account as the API shows it: never with its password.
type Login struct {
	LoginID  int64  `json:"login_id" minimum:"1" maximum:"9007199254740991"`
	Username string `json:"username"`
	Role     string `json:"role" enum:"admin,viewer" doc:"admin may change records; viewer may only read them"`
}

// Roles of a login. A login stored before roles existed is a viewer.
const (
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
)

// LoginCreate is the body of POST /ch11/login/add.
type LoginCreate struct {
	LoginID  int64  `json:"login_id" minimum:"1" maximum:"9007199254740991" doc:"client-chosen id"`
	Username string `json:"username" minLength:"3" maxLength:"64"`
	Password string `json:"password" minLength:"8" maxLength:"128" format:"password" writeOnly:"true"`
	Role     string `json:"role,omitempty" enum:"admin,viewer" doc:"default viewer; with AUTH_ENABLED only an admin may add logins, so only an admin sets roles"`
}

// LoginUpdate is the body of PATCH /ch11/login/update: the current password
// proves the caller may change it.
type LoginUpdate struct {
	Username    string `json:"username" minLength:"3" maxLength:"64"`
	Password    string `json:"password" minLength:"1" maxLength:"128" format:"password" writeOnly:"true" doc:"current password"`
	NewPassword string `json:"new_password" minLength:"8" maxLength:"128" format:"password" writeOnly:"true"`
}

// LoginVerify is the body of POST /ch11/login/verify.
type LoginVerify struct {
	Username string `json:"username" minLength:"1" maxLength:"64"`
	Password string `json:"password" minLength:"1" maxLength:"128" format:"password" writeOnly:"true"`
}

// Official is a referee or umpire.
type Official struct {
	OfficialID  int64  `json:"official_id" minimum:"1" maximum:"9007199254740991" doc:"client-chosen id"`
	FirstName   string `json:"fname" minLength:"1" maxLength:"100" pattern:"\\S" patternDescription:"a name with at least one character that is not a space"`
	LastName    string `json:"lname" minLength:"1" maxLength:"100" pattern:"\\S" patternDescription:"a name with at least one character that is not a space"`
	Age         int    `json:"age" minimum:"1" maximum:"120" doc:"must agree with birthday: the age on some day from date_started to today, i.e. from the completed years at date_started to one more than the completed years today (UTC)"`
	Birthday    Date   `json:"birthday" doc:"not in the future"`
	DateStarted Date   `json:"date_started" doc:"not before birthday"`
}

// OfficialPatch is the body of PATCH /ch11/official/update/{id}: only the
// fields present change.
type OfficialPatch struct {
	FirstName   *string `json:"fname,omitempty" minLength:"1" maxLength:"100" pattern:"\\S" patternDescription:"a name with at least one character that is not a space"`
	LastName    *string `json:"lname,omitempty" minLength:"1" maxLength:"100" pattern:"\\S" patternDescription:"a name with at least one character that is not a space"`
	Age         *int    `json:"age,omitempty" minimum:"1" maximum:"120"`
	Birthday    *Date   `json:"birthday,omitempty"`
	DateStarted *Date   `json:"date_started,omitempty"`
}

// Player is an athlete, optionally taking part in a game.
type Player struct {
	PlayerID    int64  `json:"player_id" minimum:"1" maximum:"9007199254740991" doc:"client-chosen id"`
	FirstName   string `json:"fname" minLength:"1" maxLength:"100" pattern:"\\S" patternDescription:"a name with at least one character that is not a space"`
	LastName    string `json:"lname" minLength:"1" maxLength:"100" pattern:"\\S" patternDescription:"a name with at least one character that is not a space"`
	Age         int    `json:"age" minimum:"1" maximum:"120" doc:"must agree with birthday: the age on some day from date_started to today, i.e. from the completed years at date_started to one more than the completed years today (UTC)"`
	Birthday    Date   `json:"birthday" doc:"not in the future"`
	DateStarted Date   `json:"date_started" doc:"not before birthday"`
	GameID      *int64 `json:"game_id" required:"false" nullable:"true" minimum:"1" maximum:"9007199254740991" doc:"id of an existing game, or null"`
}

// PlayerPatch is the body of PATCH /ch11/player/update/{id}.
type PlayerPatch struct {
	FirstName   *string    `json:"fname,omitempty" minLength:"1" maxLength:"100" pattern:"\\S" patternDescription:"a name with at least one character that is not a space"`
	LastName    *string    `json:"lname,omitempty" minLength:"1" maxLength:"100" pattern:"\\S" patternDescription:"a name with at least one character that is not a space"`
	Age         *int       `json:"age,omitempty" minimum:"1" maximum:"120"`
	Birthday    *Date      `json:"birthday,omitempty"`
	DateStarted *Date      `json:"date_started,omitempty"`
	GameID      NullableID `json:"game_id" required:"false"`
}

// Game is a fixture with the officials who run it.
type Game struct {
	GameID    int64  `json:"game_id" minimum:"1" maximum:"9007199254740991" doc:"client-chosen id"`
	Name      string `json:"name" minLength:"1" maxLength:"200"`
	DateStart Date   `json:"date_start"`
	DateEnd   Date   `json:"date_end" doc:"not before date_start"`
	// No uniqueItems tag: Huma's check of it panics on items that are not
	// hashable (a client sending [{}] got a 500); Check refuses duplicates.
	Officials []int64 `json:"officials" maxItems:"100" doc:"ids of existing officials, each at most once"`
}

// GamePatch is the body of PATCH /ch11/game/update/{id}.
type GamePatch struct {
	Name      *string  `json:"name,omitempty" minLength:"1" maxLength:"200"`
	DateStart *Date    `json:"date_start,omitempty"`
	DateEnd   *Date    `json:"date_end,omitempty"`
	Officials *[]int64 `json:"officials,omitempty" maxItems:"100" doc:"ids of existing officials, each at most once"`
}

// Apply returns o with the patch's fields set.
func (p OfficialPatch) Apply(o Official) Official {
	set(&o.FirstName, p.FirstName)
	set(&o.LastName, p.LastName)
	set(&o.Age, p.Age)
	set(&o.Birthday, p.Birthday)
	set(&o.DateStarted, p.DateStarted)
	return o
}

// Apply returns pl with the patch's fields set.
func (p PlayerPatch) Apply(pl Player) Player {
	set(&pl.FirstName, p.FirstName)
	set(&pl.LastName, p.LastName)
	set(&pl.Age, p.Age)
	set(&pl.Birthday, p.Birthday)
	set(&pl.DateStarted, p.DateStarted)
	if p.GameID.Set {
		pl.GameID = p.GameID.Value
	}
	return pl
}

// Apply returns g with the patch's fields set.
func (p GamePatch) Apply(g Game) Game {
	set(&g.Name, p.Name)
	set(&g.DateStart, p.DateStart)
	set(&g.DateEnd, p.DateEnd)
	set(&g.Officials, p.Officials)
	return g
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// Today is the current date in UTC; validation takes it as an argument so
// that tests can fix it.
func Today() Date { return DateOf(time.Now()) }

// officialItemBounds gives the items of "officials" the bounds of an id.
// Huma's field tags describe the array, not its items, so without this the
// schema (and therefore the validation) let an official id of 0 through.
func officialItemBounds(s *huma.Schema) *huma.Schema {
	if p := s.Properties["officials"]; p != nil && p.Items != nil {
		lo, hi := float64(MinID), float64(MaxID)
		p.Items.Minimum, p.Items.Maximum = &lo, &hi
	}
	return s
}

// TransformSchema implements huma.SchemaTransformer.
func (Game) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return officialItemBounds(s)
}

// TransformSchema implements huma.SchemaTransformer.
func (GamePatch) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return officialItemBounds(s)
}
