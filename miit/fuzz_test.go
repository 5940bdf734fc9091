package miit

import (
	"regexp"
	"smsim/simulator/core/testkit"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz target of the certificate check. Its seed corpus, under
// testdata/fuzz/FuzzCertificates, runs with every go test; go test -fuzz
// looks further.

var lowerLast6 = regexp.MustCompile(`^[0-9a-z]{6}$`)

// A person named in an order is checked as the submission checks them; the
// last six characters of an accepted certificate number pass the check of
// a validation or a resend and match what the order keeps, in any case.
func FuzzCertificates(f *testing.F) {
	f.Fuzz(func(t *testing.T, name, phone, cert, entered string) {
		p := Person{Name: name, Phone: phone, CertificateNumber: cert}
		if err := p.check(EntityLeader); err != nil {
			testkit.WantRefusal(t, err, EntityLeader)
		} else {
			if strings.TrimSpace(p.Name) == "" || utf8.RuneCountInString(p.Name) > MaxNameLen || p.Name != name || p.CertificateNumber != cert {
				t.Fatalf("accepted %+v from %q, %q, %q", p, name, phone, cert)
			}
			kept := last6(p.CertificateNumber)
			if !lowerLast6.MatchString(kept) {
				t.Fatalf("certificate %q keeps %q", cert, kept)
			}
			again := p
			if err := again.check(EntityLeader); err != nil || again != p {
				t.Fatalf("checked again, %+v became %+v, %v", p, again, err)
			}
			for _, typed := range []string{cert[len(cert)-6:], strings.ToUpper(cert[len(cert)-6:]), strings.ToLower(cert[len(cert)-6:])} {
				ph, l6, err := checkPerson(p.Phone, typed)
				if err != nil || ph != p.Phone || l6 != kept {
					t.Fatalf("certificate %q: %q entered reads as %q, %q, %v; want %q, %q", cert, typed, ph, l6, err, p.Phone, kept)
				}
			}
		}
		ph, l6, err := checkPerson(phone, entered)
		if err != nil {
			testkit.WantRefusal(t, err, "phone", "certificate_last6")
			return
		}
		if !lowerLast6.MatchString(l6) || !strings.EqualFold(l6, entered) || len(ph) != 11 {
			t.Fatalf("%q, %q read as %q, %q", phone, entered, ph, l6)
		}
	})
}
