package train

import (
	"fmt"
	"path/filepath"

	"github.com/vrlaif/vrlaif/internal/runsettings"
	"github.com/vrlaif/vrlaif/model"
)

// ppoSettings are the settings that decide a PPO run's updates. A run resumed with others (another
// learning rate, reward model or batch) would continue one run's policy and optimizer state with
// the other's and report them as one run; runsettings refuses it. Steps may grow: a finished run
// can be continued for longer. Left out: the folders (the policy and the reward model are recorded
// by their weights, so a moved folder still resumes), where the learner runs (device, matrix
// products) and the redelivery timeout, which do not decide the updates.
func ppoSettings(cfg PPOConfig, policyRevision, rmRevision string) map[string]any {
	s := runsettings.Omit(cfg, "policy", "rm", "prompts", "output", "ack_wait", "device", "device_math_only", "gemm")
	s["policy_revision"], s["rm_revision"] = policyRevision, rmRevision
	return s
}

// CheckPPOSettings records cfg's settings in cfg.Output on a fresh run and refuses a resume with
// other settings, naming them. RunLearner checks; a launcher that starts actors beside the learner
// checks first too, so that a refused resume publishes no rollouts.
func CheckPPOSettings(cfg PPOConfig) error {
	policyRev, err := model.WeightsHash(cfg.Policy)
	if err != nil {
		return err
	}
	rmRev, err := RMRevision(cfg.RM)
	if err != nil {
		return err
	}
	if err := runsettings.Check(cfg.Output, "train ppo", ppoSettings(cfg, policyRev, rmRev), "steps"); err != nil {
		return fmt.Errorf("ppo: %w", err)
	}
	return nil
}

// RMRevision identifies a reward model's trained weights (its adapter and its head): the first 16
// hex digits of their SHA-256, as model.WeightsHash identifies a checkpoint.
func RMRevision(dir string) (string, error) {
	rev, err := model.FilesHash(filepath.Join(dir, model.AdapterWeightsFile), filepath.Join(dir, HeadFile))
	if err != nil {
		return "", fmt.Errorf("train: reward model: %w", err)
	}
	return rev, nil
}
