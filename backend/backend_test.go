package backend

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// LogAddExp against direct computation where that is safe, and where it would overflow.
// Tolerance 1e-12: both sides are a handful of float64 operations.
func TestLogAddExp(t *testing.T) {
	for _, c := range []struct{ a, b, want float64 }{
		{math.Log(0.25), math.Log(0.5), math.Log(0.75)},
		{math.Inf(-1), -2, -2},
		{-3, math.Inf(-1), -3},
		{1000, 1000, 1000 + math.Ln2}, // exp(1000) overflows
	} {
		if got := LogAddExp(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("LogAddExp(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// Validate refuses a NaN or infinite temperature or top_p as a bad request naming them (a NaN
// passed every range comparison and reached the sampler), and accepts the ordinary values.
func TestValidateRejectsNonFinite(t *testing.T) {
	msgs := []Message{TextMessage(RoleUser, "hi")}
	nan, inf := math.NaN(), math.Inf(1)
	for _, r := range []ChatRequest{
		{Messages: msgs, Temperature: nan}, {Messages: msgs, Temperature: inf}, {Messages: msgs, Temperature: -inf},
		{Messages: msgs, TopP: nan}, {Messages: msgs, TopP: inf}, {Messages: msgs, Temperature: 1, TopP: -inf},
	} {
		err := r.Validate()
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "finite") {
			t.Errorf("Validate(temperature %v, top_p %v) = %v, want a bad request about finite numbers", r.Temperature, r.TopP, err)
		}
	}
	for _, r := range []ChatRequest{{Messages: msgs}, {Messages: msgs, Temperature: 1e-39, TopP: 1}, {Messages: msgs, Temperature: 2, TopP: 0.9}} {
		if err := r.Validate(); err != nil {
			t.Errorf("Validate(temperature %v, top_p %v) = %v", r.Temperature, r.TopP, err)
		}
	}
}

func TestRetryableClassification(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&Error{Backend: "x", Op: "chat", Err: BadRequest("no")}, false},
		{&Error{Backend: "x", Op: "chat", Err: ErrUnavailable}, true},
		{&Error{Backend: "x", Op: "chat", Err: ErrRateLimited}, true},
		{&Error{Backend: "x", Op: "chat", Err: ErrCircuitOpen}, true},
		{ErrUnsupported, false},
	} {
		if got := Retryable(c.err); got != c.want {
			t.Errorf("Retryable(%v) = %v", c.err, got)
		}
	}
	e := &Error{Backend: "openai", Op: "chat", Status: 503, Attempts: 5, Err: ErrUnavailable}
	if got := e.Error(); got != "openai chat (after 5 attempts): HTTP 503: backend: server unavailable" || !errors.Is(e, ErrUnavailable) {
		t.Errorf("message %q", got)
	}
}

// Open shares one instance per configuration and closes it with the last handle; an unknown name
// is a clear error; the API key never appears in the configuration's JSON or String.
func TestOpenSharesAndCloses(t *testing.T) {
	closed := 0
	Register("test-counting", func(context.Context, Config) (Backend, error) { return &countingBackend{closed: &closed}, nil })
	c := Config{Name: "test-counting", APIKey: "sk-secret"}
	ctx := context.Background()
	a, err := Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Open(ctx, c)
	if a.(*handle).entry != b.(*handle).entry {
		t.Error("two opens of one configuration made two backends")
	}
	a.Close()
	a.Close() // twice: no effect
	if closed != 0 {
		t.Fatal("closed while a handle is open")
	}
	b.Close()
	if closed != 1 {
		t.Fatalf("closed %d times, want 1", closed)
	}
	js, _ := json.Marshal(c)
	if strings.Contains(string(js), "sk-secret") || strings.Contains(c.String(), "sk-secret") {
		t.Errorf("the API key leaks: %s / %s", js, c)
	}
	if _, err := Open(ctx, Config{Name: "nope"}); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown backend: %v", err)
	}
}

type countingBackend struct {
	Backend
	closed *int
}

func (c *countingBackend) Close() error { *c.closed++; return nil }
