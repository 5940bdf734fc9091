package miit

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// orderFieldsLua reads two orders through order_fields: KEYS[9] named in
// part and then read beyond what it named, after writes; KEYS[10] read
// whole before order_fields names its fields. It answers each read, false
// and nil written out.
const orderFieldsLua = `
local F, H = KEYS[9], KEYS[10]
local out = {}
local function show(v)
  if v == nil then v = 'nil' elseif v == false then v = 'false' end
  out[#out + 1] = v
end
order_fields(F, {'status', 'nsubj', 's2.phone', 'lacking'})
show(order(F).status)
show(order(F).lacking)
set_order(F, 'status', 'under_review', 'validated_at', 7)
show(incr_order(F, 's1.failures', 2))
show(order(F).status)
show(order(F).id) -- beyond the fields named: the order is read whole
show(order(F).lacking_too)
show(order(F).status)
show(order(F).validated_at)
show(order(F)['s1.failures'])
show(order(F)['s2.phone'])
show(nsubj(F))
order(H)
redis.call('HSET', H, 'status', 'changed behind the table')
order_fields(H, {'status'})
show(order(H).status)
return out
`

var orderFieldsScript = core.NewScript[struct{}](luaLib, orderFieldsLua)

// An order read in part answers the fields it named as the hash holds
// them, false for one it lacks, and those written since as written; a
// field beyond them reads the order whole, and one the order lacks is
// false still. An order read whole before is not read again.
func TestOrderFields(t *testing.T) {
	ctx := context.Background()
	r := testkit.StartRedis(t)
	rdb := r.Client(t)
	keys := make([]string, 0, 10)
	for range 8 {
		keys = append(keys, r.Prefix+":{t}:lib")
	}
	F, H := r.Prefix+":{t}:filing:f_1", r.Prefix+":{t}:filing:f_2"
	keys = append(keys, F, H)
	if err := rdb.HSet(ctx, F, "id", "f_1", "status", "pending_validation", "nsubj", "2", "s1.failures", "3", "s2.phone", "13700000002").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, H, "id", "f_2", "status", "unknown").Err(); err != nil {
		t.Fatal(err)
	}
	out, err := orderFieldsScript.Run(ctx, rdb, keys, struct{}{}).Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range out.([]any) {
		got = append(got, fmt.Sprint(v))
	}
	want := []string{"pending_validation", "false", "5", "under_review", "f_1", "false", "under_review", "7", "5",
		"13700000002", "2", "unknown"}
	if !slices.Equal(got, want) {
		t.Fatalf("reads %q, want %q", got, want)
	}
	if h := rdb.HGetAll(ctx, F).Val(); h["status"] != "under_review" || h["validated_at"] != "7" || h["s1.failures"] != "5" {
		t.Fatalf("the order holds %v", h)
	}
}
