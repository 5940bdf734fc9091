package simulator

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// The lifetimes of a recorded answer (core.Keyspace.Answer): a claim holds
// while its request is in progress, at most AnswerLease; an answer is kept
// AnswerTTL, or the namespace's TTL when that is shorter (an answer never
// outlives the namespace it was given in).
const (
	AnswerLease = 30 * time.Second
	AnswerTTL   = 24 * time.Hour
)

// Answer is what a namespace keeps of a POST with an Idempotency-Key: the
// request's fingerprint, and once it is answered (Done), its answer — or,
// Unknown, that it failed after a write that Redis may have carried out
// (core.Outcome), and has no answer to give again.
type Answer struct {
	Fingerprint string            `json:"fp"`
	Done        bool              `json:"done,omitempty"`
	Unknown     bool              `json:"unknown,omitempty"`
	Status      int               `json:"status,omitempty"`
	Header      map[string]string `json:"header,omitempty"`
	Body        []byte            `json:"body,omitempty"`
}

//go:embed answer_claim.lua
var answerClaimLua string

type answerClaimArgs struct {
	Claim   string `json:"claim"`
	LeaseMS int64  `json:"lease_ms"`
}

var answerClaim = core.NewScript[answerClaimArgs](answerClaimLua)

// ClaimAnswer claims idempotency key key for a request whose fingerprint
// is fp, in one round trip: it answers nil when the key was free, and is
// now the request's for AnswerLease; else what the key holds — a request
// in progress (Done false) or its answer — which may be of another request
// (another fingerprint).
func (n *Namespace) ClaimAnswer(ctx context.Context, key, fp string) (*Answer, error) {
	claim, err := json.Marshal(Answer{Fingerprint: fp})
	if err != nil {
		return nil, err
	}
	held, err := answerClaim.Run(ctx, n.rdb, []string{n.ks.Answer(key)},
		answerClaimArgs{Claim: string(claim), LeaseMS: AnswerLease.Milliseconds()}).Text()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	var a Answer
	if err := json.Unmarshal([]byte(held), &a); err != nil {
		return nil, fmt.Errorf("idempotency key: the store holds %q: %w", held, err)
	}
	return &a, nil
}

// RecordAnswer keeps a, the answer of the request that claimed key, for
// AnswerKept: a retry with the key is answered it.
func (n *Namespace) RecordAnswer(ctx context.Context, key string, a Answer) error {
	a.Done = true
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := n.rdb.Set(ctx, n.ks.Answer(key), b, n.AnswerKept()).Err(); err != nil {
		return fmt.Errorf("record the answer of idempotency key: %w", err)
	}
	return nil
}

// AnswerKept is how long the namespace keeps an answer: AnswerTTL, at most
// its keys' TTL (--namespace-ttl).
func (n *Namespace) AnswerKept() time.Duration {
	if n.ttl > 0 && n.ttl < AnswerTTL {
		return n.ttl
	}
	return AnswerTTL
}

// ForgetAnswer frees key, whose request failed without an answer worth
// keeping: a retry with it runs the request again.
func (n *Namespace) ForgetAnswer(ctx context.Context, key string) error {
	if err := n.rdb.Del(ctx, n.ks.Answer(key)).Err(); err != nil {
		return fmt.Errorf("free idempotency key: %w", err)
	}
	return nil
}
