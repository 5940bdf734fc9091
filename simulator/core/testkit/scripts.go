package testkit

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ScriptCall answers the SHA-1 of the script that cmd calls, and whether
// it calls one: EVALSHA's, EVAL's text's, or that of a library of smsim's
// functions that FCALL calls (core's scripts go as libraries named
// "smsim_" and the script's SHA-1 on a Redis that has functions).
func ScriptCall(cmd redis.Cmder) (string, bool) {
	a := cmd.Args()
	if len(a) < 2 {
		return "", false
	}
	name := fmt.Sprint(a[1])
	switch strings.ToLower(cmd.Name()) {
	case "evalsha":
		return name, true
	case "eval":
		sum := sha1.Sum([]byte(name))
		return hex.EncodeToString(sum[:]), true
	case "fcall":
		return strings.TrimPrefix(name, "smsim_"), true
	}
	return "", false
}

// ScriptCommand is the command by which smsim calls its scripts on the
// tests' store: FCALL on a real Redis (7.0 on, as CI runs), EVALSHA on the
// embedded store, which has no functions. Metrics name it in lower case.
func ScriptCommand() string {
	if RealRedis() {
		return "fcall"
	}
	return "evalsha"
}
