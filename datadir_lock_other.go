//go:build !unix

package main

// lockDataDir does nothing where flock(2) does not exist.
func lockDataDir(string) (func() error, error) { return func() error { return nil }, nil }
