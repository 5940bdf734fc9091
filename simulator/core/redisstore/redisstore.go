// Package redisstore opens the Redis that smsim keeps its state in — one
// server, or a Redis Cluster — from a URL, as one redis.UniversalClient,
// and runs a command on each of its masters (SCAN, for one, answers only
// the keys of the node it reaches); it reaches the embedded store, a
// miniredis, in memory, and runs its scripts in a Lua state kept from
// call to call (Memory). It imports no smsim package, so
// that the ground, the test kit and the binaries share it.
package redisstore

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// The URL of a store:
//
//	redis://host:port/db                       one Redis server (rediss:// with TLS)
//	unix:///path/to/redis.sock?db=N            one Redis server on this machine, on its socket
//	redis+cluster://host:port?addr=host:port…  a Redis Cluster (rediss+cluster:// with TLS)
//
// A cluster's URL names one node or more (the host, and any addr
// parameters); the client learns the others from the cluster. A redis://
// URL with addr parameters is a cluster too. The query parameters are
// go-redis's (dial_timeout, pool_size, …), as redis.ParseURL and
// redis.ParseClusterURL read them.
const clusterSuffix = "+cluster"

// Cluster tells whether rawURL names a Redis Cluster: its scheme is
// redis+cluster or rediss+cluster, or it has addr parameters.
func Cluster(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	return strings.HasSuffix(u.Scheme, clusterSuffix) || u.Query().Has("addr")
}

// Open answers a client of the store rawURL names: a *redis.Client for one
// server, a *redis.ClusterClient for a cluster. It does not connect.
func Open(rawURL string) (redis.UniversalClient, error) {
	return OpenWith(rawURL, nil, nil)
}

// OpenWith is Open with the options the URL gives tuned, before the client
// is made, by single for one server or cluster for a cluster (nil: as they
// are).
func OpenWith(rawURL string, single func(*redis.Options), cluster func(*redis.ClusterOptions)) (redis.UniversalClient, error) {
	if !Cluster(rawURL) {
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, err
		}
		if single != nil {
			single(opt)
		}
		return redis.NewClient(opt), nil
	}
	opt, err := ParseCluster(rawURL)
	if err != nil {
		return nil, err
	}
	if cluster != nil {
		cluster(opt)
	}
	return redis.NewClusterClient(opt), nil
}

// ParseCluster reads the URL of a Redis Cluster (see Cluster). A cluster
// has only database 0: a URL that names another is refused.
func ParseCluster(rawURL string) (*redis.ClusterOptions, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	u.Scheme = strings.TrimSuffix(u.Scheme, clusterSuffix)
	if db := strings.Trim(u.Path, "/"); db != "" && db != "0" {
		return nil, fmt.Errorf("redis: a Redis Cluster has only database 0, not %q", db)
	}
	u.Path = ""
	return redis.ParseClusterURL(u.String())
}

// Addrs answers the addresses rdb was opened with: one server's, or the
// nodes a cluster's URL named.
func Addrs(rdb redis.UniversalClient) []string {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.Options().Addrs
	case *redis.Client:
		return []string{c.Options().Addr}
	}
	return nil
}

// ForEachMaster calls fn with a client of each master of rdb, at once on
// a cluster (ClusterClient.ForEachMaster), or with rdb itself when it is
// one server.
func ForEachMaster(ctx context.Context, rdb redis.UniversalClient, fn func(ctx context.Context, c *redis.Client) error) error {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	}
	return fmt.Errorf("redis: a client of %T runs on no master known here", rdb)
}

// Masters answers the addresses of the masters of rdb, sorted: one
// server's own, or those of a cluster's.
func Masters(ctx context.Context, rdb redis.UniversalClient) ([]string, error) {
	var mu sync.Mutex
	var addrs []string
	err := ForEachMaster(ctx, rdb, func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		addrs = append(addrs, c.Options().Addr)
		return nil
	})
	slices.Sort(addrs)
	return addrs, err
}
