package judge

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/schemas"
)

// scoreFailsServer is a test fake of a remote OpenAI-compatible server's replies as the client
// reports them: scoring fails with scoreErr, chat answers "A".
type scoreFailsServer struct {
	scoreErr error
	chats    int
}

func (s *scoreFailsServer) Info() backend.Info { return backend.Info{Backend: "openai", Model: "fake"} }
func (s *scoreFailsServer) Score(context.Context, *backend.ScoreRequest) (*backend.ScoreResponse, error) {
	return nil, s.scoreErr
}
func (s *scoreFailsServer) Chat(context.Context, *backend.ChatRequest) (*backend.ChatResponse, error) {
	s.chats++
	return &backend.ChatResponse{Choices: []backend.Choice{{Text: "A"}}}, nil
}
func (s *scoreFailsServer) Stats() backend.Stats { return backend.Stats{} }
func (s *scoreFailsServer) Close() error         { return nil }

// The judge parses a written verdict only when the server cannot give log-probabilities
// (ErrUnsupported); a malformed scoring reply is an error (a dead letter), never a quiet switch
// to a parsed verdict.
func TestJudgeFallsBackOnlyWhenLogProbsAreUnsupported(t *testing.T) {
	pr := Pair{ClipID: "c", VideoID: "v", QuestionID: "q", Question: "What color?", Context: "Clip 1: a red ball.",
		R1: schemas.Response{ID: "1", Text: "Red."}, R2: schemas.Response{ID: "2", Text: "Blue."}}
	unsupported := &scoreFailsServer{scoreErr: fmt.Errorf("%w: the server returned no top_logprobs", backend.ErrUnsupported)}
	p, err := Judge(context.Background(), unsupported, pr, Params{}.WithDefaults())
	if err != nil || p.Forward.Method != MethodParsed || p.Forward.Letter != "A" || unsupported.chats != 2 {
		t.Errorf("no log-probabilities: %+v, %v after %d chats; want a parsed verdict from both orders", p.Forward, err, unsupported.chats)
	}
	bad := &scoreFailsServer{scoreErr: &backend.Error{Backend: "openai", Op: "score", Attempts: 5,
		Err: fmt.Errorf("%w: unexpected end of JSON input", backend.ErrBadResponse)}}
	if _, err := Judge(context.Background(), bad, pr, Params{}.WithDefaults()); !errors.Is(err, backend.ErrBadResponse) || bad.chats != 0 {
		t.Errorf("malformed scoring reply: %v after %d chats; want the bad response as the error, no parsed verdict", err, bad.chats)
	}
}
