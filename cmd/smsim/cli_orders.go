package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"smsim/simulator/client"
)

// runSubmit is `smsim submit`: it submits a filing order at the provider
// and prints it. Only the people the type and variant need are sent.
func runSubmit(ctx context.Context, c *cli, args []string) int {
	typ := c.fs.String("type", client.TypeFirstFiling, "filing type: first_filing, add_service, add_provider, modify, cancel, remove_provider")
	variant := c.fs.String("variant", "website", "variant of the type (website, website_and_app, app, entity, service, entity_and_service; none for add_provider and remove_provider)")
	leader := client.Person{}
	admin := client.Person{}
	c.fs.StringVar(&leader.Name, "leader-name", "Li Lei", "the entity leader's name")
	c.fs.StringVar(&leader.Phone, "leader-phone", "13800000001", "the entity leader's mobile number")
	c.fs.StringVar(&leader.CertificateNumber, "leader-cert", "110101199003071234", "the entity leader's certificate number")
	c.fs.StringVar(&admin.Name, "admin-name", "Han Meimei", "the website administrator's name")
	c.fs.StringVar(&admin.Phone, "admin-phone", "13800000002", "the website administrator's mobile number")
	c.fs.StringVar(&admin.CertificateNumber, "admin-cert", "11010119920101567X", "the website administrator's certificate number")
	asJSON := c.fs.Bool("json", false, "print the order as JSON")
	c.fields = map[string]string{"type": "--type", "variant": "--variant"}
	for _, p := range []struct{ field, flag string }{{"entity_leader", "leader"}, {"website_admin", "admin"}} {
		c.fields[p.field+".name"] = "--" + p.flag + "-name"
		c.fields[p.field+".phone"] = "--" + p.flag + "-phone"
		c.fields[p.field+".certificate_number"] = "--" + p.flag + "-cert"
	}
	if code := c.parse(args, "[flags]", 0); code >= 0 {
		return code
	}
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["variant"] {
		if _, ok := client.Required(*typ, *variant); !ok {
			*variant = "" // the default is not one of this type's: let the server name them
		}
	}
	req := client.SubmitRequest{Type: *typ, Variant: *variant, EntityLeader: &leader, WebsiteAdmin: &admin}
	if roles, ok := client.Required(*typ, *variant); ok {
		req.EntityLeader, req.WebsiteAdmin = nil, nil
		for _, r := range roles {
			if r == client.EntityLeader {
				req.EntityLeader = &leader
			} else {
				req.WebsiteAdmin = &admin
			}
		}
	}
	sc, err := c.client()
	if err != nil {
		return c.usageErr("%v", err)
	}
	v, err := sc.Submit(ctx, req)
	if err != nil {
		return c.fail(err)
	}
	if *asJSON {
		return printJSON(c.stdout, v)
	}
	printOrder(c.stdout, v)
	return exitOK
}

// printOrder writes an order as the provider sees it.
func printOrder(w io.Writer, v client.ProviderView) {
	fmt.Fprintf(w, "%s  %s  status %s  submitted %s\n", v.ID, kind(v.Type, v.Variant), v.Status, stamp(v.SubmittedAt))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range v.Personnel {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Role, p.Name, p.Phone, validated(p.Validated))
	}
	tw.Flush()
}

// runFiling is `smsim filing ID`: the order as the provider and MIIT see
// it.
func runFiling(ctx context.Context, c *cli, args []string) int {
	asJSON := c.fs.Bool("json", false, `print {"provider": …, "miit": …} as JSON`)
	sc, code := c.connect(args, "[flags] ID", 1)
	if sc == nil {
		return code
	}
	p, err := sc.Filing(ctx, c.args[0])
	if err != nil {
		return c.fail(err)
	}
	m, err := sc.MIITFiling(ctx, c.args[0])
	if err != nil {
		return c.fail(err)
	}
	if *asJSON {
		return printJSON(c.stdout, map[string]any{"provider": p, "miit": m})
	}
	w := c.stdout
	fmt.Fprintf(w, "%s  %s  submitted %s\n", p.ID, kind(p.Type, p.Variant), stamp(p.SubmittedAt))
	fmt.Fprintf(w, "  provider  %s", p.Status)
	if p.CanceledBy != "" {
		fmt.Fprintf(w, "  canceled by %s", p.CanceledBy)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  MIIT      %s", m.Status)
	if m.CodesSentAt != nil {
		fmt.Fprintf(w, "  codes sent %s", stamp(*m.CodesSentAt))
	}
	if m.Deadline != nil {
		fmt.Fprintf(w, "  deadline %s", stamp(*m.Deadline))
	}
	if m.CanceledBy != "" {
		fmt.Fprintf(w, "  canceled by %s", m.CanceledBy)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ROLE\tNAME\tPHONE\tPROVIDER\tMIIT")
	for _, pp := range p.Personnel {
		miitSays := "-"
		for _, mp := range m.Personnel {
			if mp.Role == pp.Role {
				miitSays = fmt.Sprintf("%s, %d failed, %d resent", validated(mp.Validated), mp.Failures, mp.Resends)
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", pp.Role, pp.Name, pp.Phone, validated(pp.Validated), miitSays)
	}
	tw.Flush()
	return exitOK
}

func kind(typ, variant string) string {
	if variant == "" {
		return typ
	}
	return typ + "/" + variant
}

func validated(v bool) string {
	if v {
		return "validated"
	}
	return "not validated"
}

// stamp writes a simulated time as the API does.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z07:00") }

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintln(w, err)
		return exitFailed
	}
	fmt.Fprintln(w, strings.TrimSpace(string(b)))
	return exitOK
}
