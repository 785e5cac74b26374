//go:build mutation_local_leases

package repository

import "go.mongodb.org/mongo-driver/v2/mongo"

// A mutant for the multi-instance tests (TestInvariantsAcrossInstances
// builds the service with -tags mutation_local_leases and expects them to
// fail): the same lease algorithm with the leases kept in this process only,
// as if the cross-instance mechanism were removed. Never built otherwise.
func newLeaseTable(*mongo.Collection, bool) leaseTable { return newMemoryLeases() }
