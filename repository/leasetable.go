//go:build !mutation_local_leases

package repository

import "go.mongodb.org/mongo-driver/v2/mongo"

// newLeaseTable keeps the leases in the database, where every instance sees
// them.
func newLeaseTable(coll *mongo.Collection) leaseTable { return leaseCollection{coll: coll} }
