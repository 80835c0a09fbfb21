package main

import (
	"math"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
)

// steer holds the flags that steer a run: optimiser settings,
// regularisation, the schedule, validation and stopping, checkpoints.
type steer struct {
	momentum, weightDecay, clipNorm, gamma, dropout float64
	noDecayBiasNorm                                 bool
	decayEpochs, warmup, patience                   int
	validation, best, checkpoint, resume            string
}

// steerUsage is the part of --help about steering a run.
const steerUsage = `
Steering a run:
  go run ./cmd/train --optimizer adamw --weight-decay 0.05 --no-decay-bias-norm \
      --clip-norm 1 --schedule cosine --warmup 600 --out m.safetensors
  go run ./cmd/train --optimizer nesterov --lr 0.05 --schedule step --decay-epochs 5 --gamma 0.1
  go run ./cmd/train --dropout 0.5 --validation 5000 --patience 3 --best best.safetensors
  go run ./cmd/train --epochs 6 --checkpoint run.safetensors   # resumable (stop it any time)
  go run ./cmd/train --resume run.safetensors                  # continue up to its 6 epochs
  go run ./cmd/train --resume run.safetensors --epochs 10      # or further
`

func (s *steer) flags(fs *cli.Flags) {
	fs.Float64Var(&s.momentum, "momentum", 0, "momentum factor of momentum, nesterov and rmsprop (default: 0.9 for momentum and nesterov, 0 for rmsprop)")
	fs.Float64Var(&s.weightDecay, "weight-decay", 0, "L2 weight decay λ: added to the gradient as λ·w by every optimizer but adamw, which shrinks the weights by lr·λ instead (default: 0, adamw 0.01)")
	fs.BoolVar(&s.noDecayBiasNorm, "no-decay-bias-norm", false, "leave biases and batch-norm parameters out of the weight decay")
	fs.Float64Var(&s.clipNorm, "clip-norm", 0, "scale the gradients down to this global L2 norm before each step when they exceed it (0: no clipping)")
	fs.Float64Var(&s.gamma, "gamma", 0, "decay factor of --schedule step (per --decay-epochs; default 0.1) and exp (per epoch; default 0.9)")
	fs.IntVar(&s.decayEpochs, "decay-epochs", 5, "epochs between two decays of --schedule step")
	fs.IntVar(&s.warmup, "warmup", 0, "raise the learning rate linearly over the first N steps (batches), then follow --schedule")
	fs.Float64Var(&s.dropout, "dropout", 0, "dropout rate after each hidden activation that feeds a dense layer (0: none); masks come from --seed")
	fs.StringVar(&s.validation, "validation", "", "hold out the last N training images (or a fraction such as 0.1) as a validation split, scored after every epoch")
	fs.IntVar(&s.patience, "patience", 0, "stop when the validation accuracy has not improved for N epochs (needs --validation; 0: never)")
	fs.StringVar(&s.best, "best", "", "also write the model of the epoch with the best validation accuracy to this file (needs --validation)")
	fs.StringVar(&s.checkpoint, "checkpoint", "", "write a resumable checkpoint (weights, optimizer state, counters, random generators, settings) to this file after every epoch")
	fs.StringVar(&s.resume, "resume", "", "continue the run saved in this --checkpoint file up to --epochs epochs in all; its settings apply unless given again, and the state keeps being saved to it unless --checkpoint names another file")
}

// check validates the steering flags on their own.
func (s *steer) check(o *options) error {
	switch {
	case !(s.momentum >= 0 && s.momentum < 1):
		return cli.Usagef("--momentum must be in [0, 1), got %v", s.momentum)
	case !(s.weightDecay >= 0) || math.IsInf(s.weightDecay, 0):
		return cli.Usagef("--weight-decay must not be negative, got %v", s.weightDecay)
	case !(s.clipNorm >= 0) || math.IsInf(s.clipNorm, 0):
		return cli.Usagef("--clip-norm must not be negative, got %v", s.clipNorm)
	case !(s.gamma >= 0 && s.gamma <= 1):
		return cli.Usagef("--gamma must be in (0, 1], got %v", s.gamma)
	case s.decayEpochs < 1:
		return cli.Usagef("--decay-epochs must be at least 1, got %d", s.decayEpochs)
	case s.warmup < 0:
		return cli.Usagef("--warmup must not be negative, got %d", s.warmup)
	case !(s.dropout >= 0 && s.dropout < 1):
		return cli.Usagef("--dropout must be in [0, 1), got %v", s.dropout)
	case s.patience < 0:
		return cli.Usagef("--patience must not be negative, got %d", s.patience)
	case s.validation == "" && s.patience > 0:
		return cli.Usagef("--patience needs --validation")
	case s.validation == "" && s.best != "":
		return cli.Usagef("--best needs --validation")
	}
	if s.validation != "" {
		if _, err := train.ValidationSize(s.validation, math.MaxInt); err != nil {
			return cli.Usagef("--%v", err)
		}
	}
	return nil
}

// trainConfig is the Trainer configuration of the flags.
func (o *options) trainConfig(m *graph.Model, steps int) (train.Config, error) {
	opt, err := train.OptimizerByName(o.optimizer, train.OptimizerOptions{Momentum: o.momentum, WeightDecay: o.weightDecay})
	if err != nil {
		return train.Config{}, cli.Usagef("--optimizer: %v", err)
	}
	sched, err := train.ScheduleByName(o.schedule, train.ScheduleOptions{Epochs: o.epochs, StepsPerEpoch: steps,
		Gamma: o.gamma, DecayEpochs: o.decayEpochs, Warmup: o.warmup})
	if err != nil {
		return train.Config{}, cli.Usagef("--schedule: %v", err)
	}
	cfg := train.Config{Optimizer: opt, LearningRate: o.lr, ClipNorm: o.clipNorm, Schedule: sched, Seed: o.seed}
	if o.noDecayBiasNorm {
		cfg.NoDecay = train.BiasAndNormParams(m)
	}
	return cfg, nil
}
