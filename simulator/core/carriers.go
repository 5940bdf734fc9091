package core

import (
	"regexp"
	"sort"
	"strings"
)

// Carriers are the mainland mobile carriers by the first digits of their
// numbers.
var Carriers = map[string][]string{
	"china_mobile":  {"134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158", "159", "178", "182", "183", "184", "187", "188", "198"},
	"china_unicom":  {"130", "131", "132", "145", "155", "156", "166", "175", "176", "185", "186"},
	"china_telecom": {"133", "149", "153", "173", "177", "180", "181", "189", "191", "199"},
}

// CarrierNames lists the known carriers.
func CarrierNames() []string {
	out := make([]string, 0, len(Carriers))
	for k := range Carriers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// HasPrefix tells whether phone starts with one of prefixes.
func HasPrefix(phone string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(phone, p) {
			return true
		}
	}
	return false
}

var (
	senderPattern = regexp.MustCompile(`^[0-9]{1,21}$`)
	prefixPattern = regexp.MustCompile(`^1[0-9]{0,10}$`)
)

// CarrierSenders are the numbers each carrier's users get MIIT's code
// message from (a provider's public guide), when the fault profile lets
// the carrier pick the sender (CodeSenderCarrier).
var CarrierSenders = map[string]string{
	"china_telecom": "106598051001",
	"china_unicom":  "10655113",
	"china_mobile":  "106575000130",
}

// VirtualOperator names the virtual operators' numbers (CarrierOf): their
// users get MIIT's message from no fixed number.
const VirtualOperator = "virtual"

// VirtualPrefixes are the first digits of the virtual operators' numbers.
var VirtualPrefixes = []string{"162", "165", "167", "170", "171"}

// CarrierOf answers the carrier of phone: a name of Carriers,
// VirtualOperator, or "" when its first digits are none of theirs.
func CarrierOf(phone string) string {
	if HasPrefix(phone, VirtualPrefixes) {
		return VirtualOperator
	}
	for _, name := range CarrierNames() {
		if HasPrefix(phone, Carriers[name]) {
			return name
		}
	}
	return ""
}

func isCarrierSender(sender string) bool {
	for _, s := range CarrierSenders {
		if s == sender {
			return true
		}
	}
	return false
}

// IsCarrierSender tells whether sender is one of CarrierSenders.
func IsCarrierSender(sender string) bool { return isCarrierSender(sender) }

func carrierSenderList() []string {
	out := make([]string, 0, len(CarrierSenders))
	for _, name := range CarrierNames() {
		out = append(out, CarrierSenders[name])
	}
	return out
}
