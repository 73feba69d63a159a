// shift-point
// Command shop-corpus records the shop's bugs as corpus events:
// `shop-corpus DEPLOY SEED` prints one JSON event per (bug, entry point).
//
// Each case runs twice: in-process under recover() to learn the panic
// value's type (`%T`, what the OpenTelemetry Go SDK's RecordError reports)
// and message, then in a child process (`shop-corpus child BUG ENTRY SEED`)
// whose unrecovered panic output on stderr becomes the stack trace.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand"
	"os"
	"os/exec"
	"runtime/debug"
	"time"

	"example.com/shop/internal/api"
	"example.com/shop/internal/cli"
	"example.com/shop/internal/jobs"
	"example.com/shop/internal/shop"
)

var (
	all      = []string{"api.create", "api.update", "job.sync", "cli.import"}
	withBody = []string{"api.create", "api.update", "cli.import"}
	placing  = []string{"api.create", "job.sync", "cli.import"}
)

type input struct {
	order    shop.Order
	settings string
	body     string // overrides the encoded order when set
}

type bug struct {
	id      string
	entries []string
	fatal   bool // stack overflow: not recoverable, no panic value
	breaker func(*input, *rand.Rand)
}

var bugs = []bug{
	{"order-json", withBody, false, func(in *input, r *rand.Rand) {
		in.body = fmt.Sprintf(`{"id": "%s", "qty": %d,`, in.order.ID, 1+r.Intn(9))
	}},
	{"settings-json", all, false, func(in *input, r *rand.Rand) {
		in.settings = fmt.Sprintf("{'currency': 'EUR', 'page': %d}", r.Intn(99))
	}},
	{"items-json", all, false, func(in *input, r *rand.Rand) {
		in.order.Items = fmt.Sprintf("[{sku: 'SKU-%d', qty: %d}]", 1+r.Intn(2), 1+r.Intn(5))
	}},
	{"qty-invalid", all, false, func(in *input, r *rand.Rand) { in.order.Qty = -1 - r.Intn(50) }},
	{"email-invalid", all, false, func(in *input, r *rand.Rand) { in.order.Email = fmt.Sprintf("user%d.at.example.com", r.Intn(999)) }},
	{"customer-missing", all, false, func(in *input, r *rand.Rand) { in.order.CustomerID = fmt.Sprintf("cus_%d", 1000+r.Intn(9000)) }},
	{"inventory-unknown-sku", all, false, func(in *input, r *rand.Rand) { in.order.SKU = fmt.Sprintf("SKU-%d-X", 100+r.Intn(900)) }},
	{"category-cycle", placing, true, func(in *input, r *rand.Rand) { in.order.Category = []string{"loop-a", "loop-b"}[r.Intn(2)] }},
	{"payment-gateway", all, false, func(in *input, r *rand.Rand) { in.order.Card = fmt.Sprintf("tok_live_%012x", r.Int63()) }},
	{"tracking-pattern", placing, false, func(in *input, r *rand.Rand) { in.order.Carrier = "acme" }},
}

func newCase(b bug, entry, seed string) (*shop.Shop, input) {
	// shift-point
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%s", seed, b.id, entry)
	r := rand.New(rand.NewSource(int64(h.Sum64())))
	customer := fmt.Sprintf("cus_%d", 10+r.Intn(90))
	s := &shop.Shop{
		Customers:  map[string]*shop.Customer{customer: {ID: customer, Email: customer + "@example.com"}},
		Stock:      map[string]int{"SKU-1": 100, "SKU-2": 5},
		Categories: map[string]string{"shoes": "apparel", "loop-a": "loop-b", "loop-b": "loop-a"},
		Carriers:   map[string]string{"dhl": `^[0-9]{10}$`, "acme": fmt.Sprintf(`^ACME-[0-9{%d}$`, 4+r.Intn(6))},
	}
	in := input{
		order: shop.Order{
			ID:  fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.Intn(1<<16), r.Intn(1<<12), r.Intn(1<<12), r.Int63n(1<<48)),
			Qty: 1 + r.Intn(4), Email: customer + "@example.com", CustomerID: customer,
			SKU: []string{"SKU-1", "SKU-2"}[r.Intn(2)], Category: "shoes", Amount: 5 + r.Intn(500),
			Card: "tok_test_visa", Carrier: "dhl", TrackingRef: fmt.Sprintf("%010d", r.Int63n(1e10)),
			Items: fmt.Sprintf(`[{"sku": "SKU-1", "qty": %d}]`, 1+r.Intn(3)),
		},
		settings: fmt.Sprintf(`{"currency": "EUR", "tenant": %q}`, customer),
	}
	b.breaker(&in, r)
	if in.body == "" {
		encoded, _ := json.Marshal(in.order)
		in.body = string(encoded)
	}
	return s, in
}

func run(entry string, s *shop.Shop, in input) {
	// shift-point
	req := api.Request{Headers: map[string]string{"x-tenant-settings": in.settings}, Body: in.body}
	srv := &api.Server{Shop: s}
	switch entry {
	case "api.create":
		srv.HandleCreateOrder(req)
	case "api.update":
		srv.HandleUpdateOrder(req)
	case "job.sync":
		jobs.NightlySync(s, in.settings, []shop.Order{in.order})
	default:
		cli.ImportCommand(s, []string{"shop", "import", in.settings, in.body})
	}
}

// recovered runs a case in-process and returns the panic value's type and
// text. The job panics on its own goroutine, where the caller cannot
// recover, so its steps are replayed here on this one.
func recovered(entry string, s *shop.Shop, in input) (typ, msg string) {
	defer func() {
		if r := recover(); r != nil {
			typ, msg = fmt.Sprintf("%T", r), fmt.Sprint(r)
		}
	}()
	if entry == "job.sync" {
		shop.ReadSettings(in.settings)
		s.PlaceOrder(in.order)
	} else {
		run(entry, s, in)
	}
	return "", ""
}

func find(id string) bug {
	for _, b := range bugs {
		if b.id == id {
			return b
		}
	}
	panic("unknown bug " + id)
}

func main() {
	// shift-point
	if len(os.Args) == 5 && os.Args[1] == "child" {
		// A small stack limit makes the cycle's stack overflow quick.
		debug.SetMaxStack(16 << 20)
		s, in := newCase(find(os.Args[2]), os.Args[3], os.Args[4])
		run(os.Args[3], s, in)
		// A job goroutine's deferred wg.Done runs while it panics, so run
		// may return before the crash is printed: give the crash time to win.
		time.Sleep(3 * time.Second)
		os.Exit(0)
	}
	deploy, seed := os.Args[1], os.Args[2]
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	for _, b := range bugs {
		for _, entry := range b.entries {
			var typ, msg string
			if !b.fatal {
				s, in := newCase(b, entry, seed)
				if typ, msg = recovered(entry, s, in); typ == "" {
					panic(b.id + " via " + entry + " did not fail")
				}
			}
			var stderr bytes.Buffer
			child := exec.Command(self, "child", b.id, entry, seed)
			child.Stderr = &stderr
			if child.Run() == nil {
				panic(b.id + " via " + entry + " did not crash")
			}
			event := map[string]any{
				"label": "go/" + b.id, "language": "go", "stacktrace": stderr.String(),
				"service": "corpus-go", "entry": entry, "deploy": deploy,
			}
			if typ != "" {
				event["type"], event["message"] = typ, msg
			}
			if err := out.Encode(event); err != nil {
				panic(err)
			}
		}
	}
}
