package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRecorder(t *testing.T) {
	var r Recorder
	if _, ok := r.Last(); ok {
		t.Fatal("Last on an empty recorder")
	}
	var wg sync.WaitGroup
	const n = 50
	for i := range n {
		wg.Go(func() {
			m := Message{To: fmt.Sprintf("u%d@example.com", i%5), Subject: "s", Text: "t"}
			if err := r.Send(context.Background(), m); err != nil {
				t.Error(err)
			}
			_ = r.Messages()
		})
	}
	wg.Wait()
	if got := len(r.Messages()); got != n {
		t.Fatalf("%d messages, want %d", got, n)
	}
	if got := len(r.To("U1@EXAMPLE.COM")); got != n/5 {
		t.Errorf("To: %d messages, want %d", got, n/5)
	}

	// Messages returns a copy.
	msgs := r.Messages()
	msgs[0].Subject = "changed"
	if r.Messages()[0].Subject == "changed" {
		t.Error("Messages shares its slice")
	}

	down := errors.New("smtp down")
	r.SetErr(down)
	if err := r.Send(context.Background(), Message{To: "a@example.com", Subject: "s", Text: "t"}); !errors.Is(err, down) {
		t.Errorf("Send with SetErr = %v", err)
	}
	r.SetErr(nil)
	r.Reset()
	last := Message{To: "Last <last@example.com>", Subject: "s", Text: "t"}
	if err := r.Send(context.Background(), last); err != nil {
		t.Fatal(err)
	}
	if got, ok := r.Last(); !ok || got != last {
		t.Errorf("Last = %+v, %v", got, ok)
	}
	if diff := cmp.Diff([]Message{last}, r.To("last@example.com")); diff != "" {
		t.Errorf("To (-want +got):\n%s", diff)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Send(ctx, last); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v", err)
	}
}

func TestLogNeverLogsTheLink(t *testing.T) {
	const token = "tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	link := "https://idc.example.com/reset?token=" + token
	m, err := PasswordReset(ResetData{To: "Bob <bob@example.com>", DisplayName: "Bob", InstanceName: "Acme", Link: link})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		var h slog.Handler = slog.NewTextHandler(&buf, nil)
		if format == "json" {
			h = slog.NewJSONHandler(&buf, nil)
		}
		if err := (Log{Logger: slog.New(h)}).Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if !strings.Contains(out, "email to bob@example.com: Reset your Acme password") {
			t.Errorf("%s log lacks recipient and subject: %s", format, out)
		}
		for _, secret := range []string{token, "reset?token", "Hello Bob"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s log contains %q: %s", format, secret, out)
			}
		}
	}
}
