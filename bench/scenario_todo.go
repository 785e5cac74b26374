package main

import "context"

func scenarioTrivial(ctx context.Context, s *suite) error   { return nil }
func scenarioCreate(ctx context.Context, s *suite) error    { return nil }
func scenarioResources(ctx context.Context, s *suite) error { return nil }
