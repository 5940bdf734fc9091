package core

import (
	"strings"
	"testing"
)

// The scripts that cannot go as a library keep to EVALSHA: libraryForm
// says why.
func TestLibraryFormRefusesWhatItCannotKeep(t *testing.T) {
	for _, c := range []struct {
		name  string
		parts []string
		why   string
	}{
		{"a local of the library declared twice", []string{"local n = 1\nlocal function f()\n  return n\nend\nlocal n = 2\nreturn f()\n"}, "declared again"},
		{"a return in a part before the script's", []string{"if x then return 1 end\n", "return 2\n"}, "a return outside"},
		{"a local named KEYS", []string{"local KEYS = {}\nreturn 1\n"}, "named KEYS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var text strings.Builder
			for _, p := range c.parts {
				text.WriteString(p + partEnd)
			}
			_, err := libraryForm(text.String(), "smsim_x")
			if err == nil || !strings.Contains(err.Error(), c.why) {
				t.Fatalf("libraryForm answered %v, want an error that says %q", err, c.why)
			}
		})
	}
}

// A library declares the locals its functions use where the script did,
// sets them at each call, and keeps the rest the function's own.
func TestLibraryFormOfAScript(t *testing.T) {
	text := "local a = 1\nlocal function f()\n  return a\nend\n" + partEnd +
		"local b, c = 2, 3\nlocal d\nlocal function g()\n  return b + (d or 0)\nend\nreturn f() + g() + c\n" + partEnd
	got, err := libraryForm(text, "smsim_x")
	if err != nil {
		t.Fatal(err)
	}
	want := `#!lua name=smsim_x
local KEYS, ARGV
local a
local function f()
  return a
end
local function setup_1()
a = 1
end
local b, c
local d
local function g()
  return b + (d or 0)
end
redis.register_function('smsim_x', function(call_keys, call_argv)
KEYS, ARGV = call_keys, call_argv
setup_1()
b, c = 2, 3
d = nil
return f() + g() + c
end)
`
	if got != want {
		t.Fatalf("the library form:\n%s\nwant\n%s", got, want)
	}
}
