// Package natsbus is the NATS JetStream plumbing between vrlaif's PPO actors and its learner:
// an embedded server, connecting to a real cluster, the rollout and prompt streams, a durable
// pull consumer for the learner, and the object store that carries policy weights.
//
// # Server
//
// StartEmbedded runs nats-server in this process with JetStream and a file store under a
// directory (the run directory by default), listening on a loopback TCP port so that actors in
// other processes can connect. JetStream state (streams, consumers with their ack state,
// objects) lives in dir/jetstream and survives a restart on the same dir; WithPort keeps the
// port so that connected clients reconnect by themselves. The duplicate window is rebuilt on
// restart from the messages still stored, so it no longer covers rollouts the learner acked
// (the work queue deleted them) before the restart. For a real cluster, Connect takes
// ConnOptions (plain data: URL, user/password, token, creds file, nkey seed, TLS files), which
// map one to one onto command-line flags. Connections reconnect forever with capped, jittered
// backoff. Secrets never appear in errors or logs; URLs are printed without their userinfo.
//
// # Streams
//
// EnsureStreams creates, idempotently, for a lower-case prefix p:
//
//	P_ROLLOUTS  subjects p.rollouts.>  work queue, file storage, DiscardNew at a byte limit
//	P_PROMPTS   subjects p.prompts.>   limits retention (a data set: a new consumer replays it)
//
// Both have a 10-minute duplicate window and a 1 MiB message limit (the server's default
// max_payload); a rollout is a few KB: tokens, log-probs, reward, and references to frames.
// Large payloads (frames, weights) never travel in messages: frames go to Parquet, weights to
// the object store.
//
// Publish sends one message with a Nats-Msg-Id (required), retrying with backoff on timeouts,
// on "no responders" (a server restarting) and while the rollout stream is full (backpressure:
// actors wait for the learner instead of dropping work). It reports whether the server saw
// the id before, so a retried publish never stores a rollout twice.
//
// # Consumer
//
// NewConsumer creates or binds a durable pull consumer with explicit acks. The learner Fetches
// a batch, runs its PPO step, commits the checkpoint, and only then Acks the batch, so a crash
// between fetch and commit redelivers the rollouts after AckWait (at-least-once). AckWait must
// cover a whole step plus the checkpoint write (default 5 minutes; a longer step can call
// Msg.InProgress), and MaxAckPending must be at least the rollouts held un-acked at once.
//
// # Weights
//
// PutWeights stores a checkpoint folder (or one file) as one tar object named v%06d in an
// object store bucket, then moves the bucket's "latest" object to that version; GetWeights
// unpacks a version into a folder, checking the object's SHA-256. A tar per version (rather
// than an object per file) makes a version one name, one digest and one object, and the latest
// pointer moves only after the put succeeded, so an actor that follows LatestVersion (or
// watches the bucket for "latest") never loads half a checkpoint. The cost: files that did not
// change (config, tokenizer) are stored again with each version; they are small.
//
// Objects are limited to MaxObjectBytes (256 MiB), the size at which puts were measured
// reliable against the embedded server; the embedded server raises the stream ingest buffer,
// and puts are retried on the transient errors of large puts ("too many requests",
// "stalled"). A checkpoint's optimizer state is for the learner: Exclude it.
package natsbus
