package openai

import (
	"context"
	"time"
)

// SetSleep replaces the client's wait between retries (tests record the delays instead).
func SetSleep(c *Client, f func(context.Context, time.Duration) error) { c.sleep = f }
