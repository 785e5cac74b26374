package handlers

import (
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// requestExamples are the request bodies the docs page offers under "Try it
// out": each passes every rule on a fresh database, so none refers to a
// record that may not exist (a player's game_id is null, a game has no
// officials), and passwords meet the length rule. TestSpecExamples sends each.
func requestExamples() map[string]any {
	return map[string]any{
		"add-login":             map[string]any{"login_id": 1, "username": "alice", "password": "correct-horse-battery"},
		"verify-login":          map[string]any{"username": "alice", "password": "correct-horse-battery"},
		"update-login-password": map[string]any{"username": "alice", "password": "correct-horse-battery", "new_password": "staple-and-paper-clip"},
		"add-official": map[string]any{"official_id": 1, "fname": "Rita", "lname": "Referee", "age": 40,
			"birthday": "1984-03-04", "date_started": "2005-01-01"},
		"update-official": map[string]any{"lname": "Umpire"},
		"add-player": map[string]any{"player_id": 1, "fname": "Ann", "lname": "Lee", "age": 20,
			"birthday": "2004-01-02", "date_started": "2020-05-01", "game_id": nil},
		"update-player": map[string]any{"age": 21},
		"add-game": map[string]any{"game_id": 1, "name": "Final", "date_start": "2024-06-01", "date_end": "2024-06-02",
			"officials": []int{}},
		"update-game": map[string]any{"name": "Semi-final"},
	}
}

// setRequestExample is an OnAddOperation hook giving an operation's JSON
// body its example.
func setRequestExample(examples map[string]any) func(*huma.OpenAPI, *huma.Operation) {
	return func(_ *huma.OpenAPI, op *huma.Operation) {
		ex, ok := examples[op.OperationID]
		if !ok || op.RequestBody == nil || op.RequestBody.Content["application/json"] == nil {
			return
		}
		op.RequestBody.Content["application/json"].Example = ex
	}
}

// withArticle returns "a player", "an official".
func withArticle(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}
