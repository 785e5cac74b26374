package models

import (
	"encoding/json"
	"fmt"

	"github.com/danielgtaylor/huma/v2"
)

// NullableID is an optional reference in a partial update, where a missing
// field and null mean different things: missing keeps the stored value,
// null removes it, a number sets it.
type NullableID struct {
	Set   bool   // the field was present
	Value *int64 // nil for null
}

// SetID returns a NullableID that sets id (nil: removes the reference).
func SetID(id *int64) NullableID { return NullableID{Set: true, Value: id} }

// UnmarshalJSON records that the field was present.
func (n *NullableID) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Value = nil
		return nil
	}
	var v int64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("must be an integer id or null: %w", err)
	}
	n.Value = &v
	return nil
}

// MarshalJSON writes the id or null.
func (n NullableID) MarshalJSON() ([]byte, error) { return json.Marshal(n.Value) }

// Schema describes the field as an integer id or null.
func (NullableID) Schema(huma.Registry) *huma.Schema {
	lo, hi := float64(MinID), float64(MaxID)
	return &huma.Schema{
		Type: huma.TypeInteger, Format: "int64", Nullable: true, Minimum: &lo, Maximum: &hi,
		Description: "id of an existing game, or null to remove the player from their game",
	}
}
