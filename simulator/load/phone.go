package load

import (
	"context"
	"net/http"
	"sync"
	"time"

	"smsim/simulator/client"
)

// Names of the phones' feeds, for the errors of a feed that broke.
const (
	feedWS   = "phone_ws" // reading the phone's websocket
	feedPoll = "next"     // the long poll
)

// pollTimeout is how long one long poll waits before it asks again.
const pollTimeout = 30 * time.Second

// listen makes person i's phone listen for codes until ctx ends: over its
// websocket, which is open when listen answers (a code delivered after the
// submit cannot be missed), or by long polls from the start of its inbox.
// Each code from MIIT that reaches the inbox goes to codes; a feed that
// breaks goes to lost. It answers a func that waits for the listener to
// end, or the failure to open the websocket.
func (f *flow) listen(ctx context.Context, i int, p *person, codes chan<- code, lost chan<- failure) (func(), failure) {
	r := f.r
	var next func() (client.Message, error) // the next message, blocking
	var done func()
	call := feedPoll
	if r.cfg.Listen == ListenWS {
		var feed *client.Feed[client.Message]
		if fail := f.call(ctx, LatWatch, 0, func(cctx context.Context) (err error) {
			feed, err = r.api.Watch(ctx, p.Phone) // the feed lives on ctx; cctx bounds nothing after the handshake
			return err
		}); fail.err != nil {
			return nil, fail
		}
		next, done, call = feed.Next, func() { feed.Close() }, feedWS
	} else {
		next = pollCodes(ctx, r.api, p.Phone)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if done != nil {
			defer done()
		}
		for {
			m, err := next()
			if err != nil {
				if ctx.Err() == nil {
					lost <- failure{call, err} // buffered: one a person
				}
				return
			}
			if m.Code == "" || !client.IsMIITSender(m.Sender) || m.Folder != client.FolderInbox {
				continue // a notice, or a code the spam filter kept out of sight
			}
			select {
			case codes <- code{who: i, msg: m, at: r.cfg.Now()}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return wg.Wait, failure{}
}

// pollCodes answers a func that answers the next code from MIIT in
// phone's inbox by long polls, each after the last code it answered.
//
// A code the poll would go on after can leave the inbox while a flow
// lasts: newer messages push it out (--inbox-max), or the whole inbox
// expires (--retention after its last delivery), and a poll after it
// answers 404. What the inbox holds then came after it (the oldest leave
// first), so the poll goes on from the start of the inbox, past the codes
// it answered already: a flow that outlives its messages goes on.
func pollCodes(ctx context.Context, api *client.Client, phone string) func() (client.Message, error) {
	after := client.AfterStart
	given := map[string]bool{} // the codes answered, by id: a few a phone
	return func() (client.Message, error) {
		for {
			m, ok, err := api.Next(ctx, phone, client.NextOptions{After: after, FromMIIT: true, HasCode: true, Timeout: pollTimeout})
			switch {
			case err != nil && after != client.AfterStart && client.IsStatus(err, http.StatusNotFound):
				after = client.AfterStart // the code polled after left the inbox
			case err != nil:
				return m, err
			case ok:
				after = m.ID
				if !given[m.ID] {
					given[m.ID] = true
					return m, nil
				}
			}
		}
	}
}
