package people

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"smsim/simulator/client"
)

// Kinds of orders customers submit, and how common each is.
var kinds = []struct {
	typ, variant string
	weight       int
}{
	{"first_filing", "website", 35},
	{"first_filing", "app", 8},
	{"add_service", "website", 14},
	{"add_provider", "", 5},
	{"modify", "entity", 14},
	{"modify", "service", 8},
	{"modify", "entity_and_service", 6},
	{"cancel", "website", 10},
}

// Kind is a kind of filing order and how common it is among customers.
type Kind struct {
	Type, Variant string
	Weight        int
}

// Kinds answers the kinds of orders the crowd's customers submit, with
// their weights: every kind that needs someone to validate, first filings
// of websites the most common.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		out[i] = Kind{Type: k.typ, Variant: k.variant, Weight: k.weight}
	}
	return out
}

// Magic numbers some early customers give, so that a demo shows their
// faults (simulator README: magic numbers): the nth arrival's first person.
var magicArrivals = map[int]string{2: "19900000003", 5: "19900000001", 9: "19900000002"}

var names = []string{
	"Li Lei", "Han Meimei", "Wang Fang", "Zhang Wei", "Liu Yang", "Chen Jing", "Zhao Min", "Huang Lei",
	"Zhou Xin", "Wu Hao", "Xu Li", "Sun Yue", "Ma Jun", "Zhu Ting", "Hu Bin", "Guo Jie", "He Ping",
	"Lin Xiaoyu", "Gao Yan", "Luo Qiang", "王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵敏", "黄磊",
	"周鑫", "吴昊", "徐丽", "孙悦", "马骏", "朱婷", "胡斌", "郭杰", "何平", "林晓雨", "高岩", "罗强",
}

var regions = []string{"110101", "110105", "310104", "310115", "440305", "440106", "330106", "510107", "420106", "320102"}

// prefixes are the first digits of the mainland's mobile numbers, of its
// three carriers, in order: a number the people make up starts with one.
var prefixes = []string{
	"130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "147", "149", "150",
	"151", "152", "153", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178",
	"180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "191", "198", "199",
}

// arrive lets the customers whose time has come submit their orders: one
// every Arrival on average (exponential gaps), none while MaxOpen orders
// are open, and after a jump of the clock at most a handful at once.
func (c *Crowd) arrive(ctx context.Context) error {
	if c.cfg.Arrival <= 0 {
		return nil
	}
	if c.next.IsZero() {
		c.next = c.now // the first customer at once
	}
	for burst := 0; !c.next.After(c.now) && burst < 5; burst++ {
		if c.open() >= c.cfg.MaxOpen {
			break
		}
		if _, err := c.Submit(ctx, c.newOrder(c.arrivals)); err != nil {
			var refused *client.Error
			if !errors.As(err, &refused) || refused.Status >= 500 {
				return err // the server is away: the same customer tries again
			}
			c.log.Warn("an order was refused", "err", err)
		}
		c.arrivals++
		c.next = c.next.Add(c.gap(c.arrivals))
	}
	if !c.next.After(c.now) {
		c.next = c.now.Add(c.gap(c.arrivals))
	}
	return nil
}

// gap draws the simulated time until the next customer: exponential with
// mean Arrival, at most five times it.
func (c *Crowd) gap(n int) time.Duration {
	u := c.rnd.Float64("people", "arrival", strconv.Itoa(n))
	g := -math.Log(1-u) * float64(c.cfg.Arrival)
	return time.Duration(math.Min(g, 5*float64(c.cfg.Arrival)))
}

// newOrder makes up the nth customer's order.
func (c *Crowd) newOrder(n int) Order {
	key := strconv.Itoa(n)
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	pick := int(c.rnd.Uint64("people", "kind", key) % uint64(total))
	k := kinds[0]
	for _, x := range kinds {
		if pick < x.weight {
			k = x
			break
		}
		pick -= x.weight
	}
	o := Order{Type: k.typ, Variant: k.variant}
	leader, admin := c.newPerson(n, "leader"), c.newPerson(n, "admin")
	if magic, ok := magicArrivals[n]; ok && !c.phones[magic] {
		leader.Phone, admin.Phone = magic, magic
	}
	switch {
	case k.typ == "modify" && k.variant == "service", k.typ == "cancel":
		o.WebsiteAdmin = &admin
	case k.typ == "add_provider", k.variant == "website", k.variant == "entity_and_service":
		o.EntityLeader, o.WebsiteAdmin = &leader, &admin
		if leader.Phone == admin.Phone {
			o.WebsiteAdmin.Phone = c.newPhone(n, "admin2")
		}
	default:
		o.EntityLeader = &leader
	}
	return o
}

// newPerson makes up a person of the nth order.
func (c *Crowd) newPerson(n int, role string) Person {
	key := []string{"people", strconv.Itoa(n), role}
	d := func(what string) uint64 { return c.rnd.Uint64(append(key, what)...) }
	return Person{
		Name:              names[d("name")%uint64(len(names))],
		Phone:             c.newPhone(n, role),
		CertificateNumber: idNumber(d("id")),
		Personality:       c.personality(d("personality")),
	}
}

// newPhone draws a mobile number nobody in the crowd has.
func (c *Crowd) newPhone(n int, role string) string {
	for try := 0; ; try++ {
		r := c.rnd.Uint64("people", "phone", strconv.Itoa(n), role, strconv.Itoa(try))
		p := fmt.Sprintf("%s%08d", prefixes[r%uint64(len(prefixes))], (r>>16)%100000000)
		if !c.phones[p] {
			return p
		}
	}
}

// personality draws a personality by the crowd's mix.
func (c *Crowd) personality(r uint64) Personality {
	total := 0
	for _, p := range Personalities {
		total += c.cfg.Mix[p]
	}
	if total <= 0 {
		return Prompt
	}
	pick := int(r % uint64(total))
	for _, p := range Personalities {
		if pick < c.cfg.Mix[p] {
			return p
		}
		pick -= c.cfg.Mix[p]
	}
	return Prompt
}

// idNumber makes up an 18-character resident identity card number: region,
// birth date, sequence and the check character of GB 11643.
func idNumber(r uint64) string {
	birth := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int((r>>8)%15000))
	s := regions[r%uint64(len(regions))] + birth.Format("20060102") + fmt.Sprintf("%03d", (r>>24)%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	return s + string("10X98765432"[sum%11])
}
