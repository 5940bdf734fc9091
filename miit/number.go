package miit

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"smsim/gateway"
	"smsim/simulator/core"
)

// NumberChange is a new mobile number for a required person of an order.
type NumberChange struct {
	Phone string `json:"phone"`
}

var (
	//go:embed change_number.lua
	changeNumberLua    string
	changeNumberScript = core.NewScript[changeNumberArgs](luaLib, changeNumberLua)
)

type changeNumberArgs struct {
	Expect   core.Expect `json:"expect"`
	Bounds   core.Bounds `json:"bounds"`
	Role     string      `json:"role"`
	Phone    string      `json:"phone"`     // the new number
	OldPhone string      `json:"old_phone"` // the number it had
	Now      int64       `json:"now"`       // ms
	People   string      `json:"people"`    // the order's people with the new number, JSON
}

// ChangeNumbers updates the mobile numbers of required people of a
// cancellation order in place, as MIIT allows for cancellations only: the
// current code goes to the new number at once (not counted as a resend),
// and the old number no longer validates. Any other order must be canceled
// and submitted again with the new number.
func (s *Service) ChangeNumbers(ctx context.Context, id string, changes map[string]NumberChange) (ProviderView, error) {
	f, err := s.load(ctx, id)
	if err != nil {
		return ProviderView{}, err
	}
	if len(changes) == 0 {
		return ProviderView{}, core.Invalid("body: name the person whose number changes, e.g. {\"website_admin\": {\"phone\": \"13900000009\"}}")
	}
	for _, role := range slices.Sorted(maps.Keys(changes)) {
		if role != EntityLeader && role != WebsiteAdmin {
			return ProviderView{}, core.Invalid("%s: unknown field; give %s or %s", role, EntityLeader, WebsiteAdmin)
		}
	}
	if f.v["type"] != TypeCancel {
		return ProviderView{}, core.Conflict("filing %s is a %s order: its numbers cannot be changed in place; cancel it and submit a new order with the new number (only a cancel order may change a number in place)", id, f.v["type"])
	}
	// Check every change before making any.
	phones := map[string]string{}
	people := f.people()
	for _, role := range both {
		c, ok := changes[role]
		if !ok {
			continue
		}
		phone, err := gateway.NormalizePhone(role+".phone", c.Phone)
		if err != nil {
			return ProviderView{}, err
		}
		if people[role] == nil || !strings.Contains(","+f.v["required"]+",", ","+role+",") {
			return ProviderView{}, core.Invalid("%s: does not validate this order (it needs %s)", role, f.v["required"])
		}
		if phone == people[role].Phone {
			return ProviderView{}, core.Invalid("%s.phone: the order already has %s; give the new number (a code is sent again with POST /miit/v1/resends)", role, phone)
		}
		phones[role] = phone
	}
	for _, role := range both {
		phone, ok := phones[role]
		if !ok {
			continue
		}
		people := f.people()
		old := people[role].Phone
		people[role].Phone = phone
		pj, _ := json.Marshal(people)
		var out []string
		err := s.withSnapshot(ctx, func(snap core.Snapshot) (err error) {
			out, err = changeNumberScript.Run(ctx, s.rdb, s.libKeys(s.ks.Filing(id), s.ks.Who(old), s.ks.Who(phone)),
				changeNumberArgs{Expect: snap.Expect, Bounds: snap.Bounds(), Role: role, Phone: phone, OldPhone: old,
					Now: snap.Now().Now.UnixMilli(), People: string(pj)}).StringSlice()
			return err
		})
		if err != nil {
			return ProviderView{}, fmt.Errorf("change number: %w", err)
		}
		switch out[0] {
		case "state":
			if out[1] == StatusPendingValidation {
				return ProviderView{}, core.Conflict("filing %s cannot change its numbers: its validation window has ended and MIIT has canceled it", id)
			}
			return ProviderView{}, core.Conflict("filing %s is %s at MIIT: its numbers can no longer change", id, out[1])
		case "not_required":
			return ProviderView{}, core.Invalid("%s: does not validate this order (it needs %s)", role, f.v["required"])
		case "not_cancel":
			return ProviderView{}, core.Conflict("filing %s is a %s order: cancel it and submit a new order with the new number", id, out[1])
		}
		if err := s.carryOn(ctx, out[1:]); err != nil {
			return ProviderView{}, err
		}
		if f, err = s.load(ctx, id); err != nil {
			return ProviderView{}, err
		}
	}
	return s.ProviderView(ctx, id)
}
