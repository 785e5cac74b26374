//go:build !mutation_local_leases

package repository

import "go.mongodb.org/mongo-driver/v2/mongo"

// newLeaseTable keeps the leases in the database, where every instance sees
// them, unless this process is the database's only writer (exclusive).
func newLeaseTable(coll *mongo.Collection, exclusive bool) leaseTable {
	if exclusive {
		return newMemoryLeases()
	}
	return leaseCollection{coll: coll}
}
