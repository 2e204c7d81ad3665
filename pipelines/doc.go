// Package pipelines is the home of vrlaif's Beam pipeline builders: generate (frames, narratives,
// responses), feedback (pairs, the context-aware judge, preferences) and train (SFT, reward model,
// rollouts over NATS JetStream, the PPO learner). Each subpackage exports Pipeline(s, cfg) and its
// Config; the CLI in cmd/vrlaif runs them on Prism by default. They land with their own issues.
package pipelines
