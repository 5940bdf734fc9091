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
