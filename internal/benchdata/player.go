// Package benchdata is what the benchmarks and the performance suite share
// about the stored data. It mirrors the store's player document
// (repository.playerDoc, unexported there) so that driver-only loops decode
// as much as the store does, and so that the suite can seed large
// collections with the driver instead of the API. The suite reads seeded
// records back through the service, so a drift between the two shapes fails
// the suite instead of skewing its figures.
package benchdata

import (
	"strconv"
	"time"
)

// Player is a stored player document.
type Player struct {
	ID          string    `bson:"_id"`
	PlayerID    int64     `bson:"player_id"`
	FirstName   string    `bson:"fname"`
	LastName    string    `bson:"lname"`
	Age         int       `bson:"age"`
	Birthday    time.Time `bson:"birthday"`
	DateStarted time.Time `bson:"date_started"`
	GameID      *int64    `bson:"game_id"`
}

// NewPlayer is the suite's player with id, valid under the API's rules.
func NewPlayer(id int64) Player {
	return Player{ID: strconv.FormatInt(id, 10), PlayerID: id, FirstName: "Ann", LastName: "Lee-" + strconv.FormatInt(id, 10), Age: 20,
		Birthday: time.Date(2004, 1, 2, 0, 0, 0, 0, time.UTC), DateStarted: time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC)}
}
