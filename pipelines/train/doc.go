// Package train holds vrlaif's trainers. This file set has supervised fine-tuning (SFT) of the
// built-in model on the synthetic world: captions of whole clips and of their thirds, question
// answering, temporal questions and judging examples (a narrative, a question and two answers, one
// contradicting the ground truth → the letter of the better one), so that one model can caption,
// answer and judge as the original's SFT model does. The reward model, rollouts over NATS and the
// PPO learner join it with their own issues.
package train
