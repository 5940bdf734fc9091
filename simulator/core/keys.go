package core

import "strings"

// DefaultNamespace is the namespace of a request that names none.
const DefaultNamespace = "default"

// Keyspace names the Redis keys of one namespace. Every key carries the
// namespace as a Redis Cluster hash tag, so that the keys one script touches
// live on one shard.
type Keyspace struct {
	Prefix    string // e.g. "smsim"
	Namespace string // e.g. "default"
}

// Key joins parts under the keyspace: prefix:{namespace}:part:part.
func (k Keyspace) Key(parts ...string) string {
	return k.Prefix + ":{" + k.Namespace + "}:" + strings.Join(parts, ":")
}

// Pattern matches every key of the keyspace (for SCAN).
func (k Keyspace) Pattern() string {
	return k.Prefix + ":{" + k.Namespace + "}:*"
}
