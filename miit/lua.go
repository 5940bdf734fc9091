package miit

import (
	_ "embed"
	"fmt"

	"smsim/gateway"

	"smsim/simulator/core"
)

//go:embed miit.lua
var miitLua string

// luaLib is the library of this package's scripts, put after the core
// prelude and before each (core.NewScript(luaLib, script)): JOB, the kinds
// of the package's jobs, the limits, then miit.lua — the keys every script
// takes first (libKeys), and the reading and writing of orders.
var luaLib = gateway.LuaLib + core.LuaTable("JOB", map[string]string{
	"sync": JobSync, "code": JobCode, "notice": JobNotice, "expire": JobExpire,
	"result": JobResult, "review": JobReview, "autoresend": JobAutoResend,
}) + fmt.Sprintf("local MAX_FAILURES, MAX_RESENDS = %d, %d\n", MaxFailures, MaxResends) + miitLua
