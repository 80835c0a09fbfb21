package train

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate of every step from the base rate
// (Config.LearningRate). The Trainer asks it before each step, with step
// the number of steps taken before it (0 for the first), so a schedule is
// a plain function of the step and a resumed run continues it exactly.
// Implement it for a schedule of your own.
//
// The built-in schedules follow PyTorch's torch.optim.lr_scheduler, with the
// step as the scheduler's count: StepDecay is StepLR, Exponential is
// ExponentialLR, Cosine is CosineAnnealingLR, Warmup is LinearLR followed
// by another schedule (SequentialLR). PerEpoch applies any of them once per
// epoch, as a PyTorch loop calling scheduler.step() after each epoch does.
type Schedule interface {
	// Rate returns the learning rate of the given step (counted from 0).
	Rate(base float64, step int) float64
}

// Constant keeps the base rate.
type Constant struct{}

// Rate returns base.
func (Constant) Rate(base float64, _ int) float64 { return base }

// StepDecay multiplies the rate by Gamma every Every steps:
// base·Gamma^⌊step/Every⌋ (PyTorch's StepLR with step_size Every).
type StepDecay struct {
	// Every is the number of steps between decays (at least 1).
	Every int
	// Gamma is the factor (default 0.1, PyTorch's).
	Gamma float64
}

// Rate returns base·Gamma^⌊step/Every⌋.
func (s StepDecay) Rate(base float64, step int) float64 {
	return base * math.Pow(defaultTo(s.Gamma, 0.1), float64(step/max(s.Every, 1)))
}

// Exponential multiplies the rate by Gamma at every step: base·Gamma^step
// (PyTorch's ExponentialLR).
type Exponential struct {
	// Gamma is the factor per step, in (0, 1] to decay.
	Gamma float64
}

// Rate returns base·Gamma^step.
func (s Exponential) Rate(base float64, step int) float64 {
	return base * math.Pow(s.Gamma, float64(step))
}

// Cosine anneals the rate from base to Min along half a cosine over Steps
// steps and keeps Min afterwards (Loshchilov & Hutter 2017, without
// restarts; PyTorch's CosineAnnealingLR with T_max Steps and eta_min Min):
//
//	Min + ½·(base − Min)·(1 + cos(π·step/Steps))
type Cosine struct {
	// Steps is the length of the decay (at least 1).
	Steps int
	// Min is the final rate (default 0).
	Min float64
}

// Rate returns the annealed rate of step.
func (s Cosine) Rate(base float64, step int) float64 {
	n := max(s.Steps, 1)
	if step >= n {
		return s.Min
	}
	return s.Min + 0.5*(base-s.Min)*(1+math.Cos(math.Pi*float64(step)/float64(n)))
}

// CosineRate returns the rate of a cosine schedule applied once per epoch:
// for epoch (1-based) of epochs, ½·base·(1 + cos(π·(epoch−1)/epochs)), so
// the last epoch runs at a small fraction of base. It equals
// PerEpoch{Steps: n, Schedule: Cosine{Steps: epochs}} at any step of that
// epoch.
func CosineRate(base float64, epoch, epochs int) float64 {
	return Cosine{Steps: epochs}.Rate(base, epoch-1)
}

// Warmup raises the rate linearly over its first Steps steps, reaching base
// at the last of them, base·(step+1)/Steps, and then follows Then (Constant
// when nil) as if it started there: Then.Rate(base, step − Steps).
type Warmup struct {
	// Steps is the length of the warm-up.
	Steps int
	// Then is the schedule after the warm-up.
	Then Schedule
}

// Rate returns the warm-up rate or Then's.
func (s Warmup) Rate(base float64, step int) float64 {
	if step < s.Steps {
		return base * float64(step+1) / float64(s.Steps)
	}
	if s.Then == nil {
		return base
	}
	return s.Then.Rate(base, step-s.Steps)
}

// PerEpoch applies Schedule once per epoch of Steps steps: Schedule sees the
// number of whole epochs done, ⌊step/Steps⌋, so the rate changes only
// between epochs. With Cosine{Steps: epochs} inside, it is the schedule
// cmd/train's --schedule cosine uses.
type PerEpoch struct {
	// Steps is the number of steps per epoch (at least 1).
	Steps int
	// Schedule is the schedule over epochs.
	Schedule Schedule
}

// Rate returns Schedule's rate of the epoch holding step.
func (s PerEpoch) Rate(base float64, step int) float64 {
	return s.Schedule.Rate(base, step/max(s.Steps, 1))
}

// ScheduleNames lists the names ScheduleByName knows.
func ScheduleNames() []string { return []string{"cosine", "constant", "step", "exp"} }

// ScheduleOptions shape a schedule made by name.
type ScheduleOptions struct {
	// Epochs is the run's length and StepsPerEpoch the steps of one epoch.
	Epochs, StepsPerEpoch int
	// Gamma is the decay factor of "step" (per DecayEpochs; default 0.1)
	// and "exp" (per epoch; default 0.9).
	Gamma float64
	// DecayEpochs is the epochs between two decays of "step" (default 5).
	DecayEpochs int
	// Warmup, if positive, raises the rate linearly over the first Warmup
	// steps, then follows the schedule (Warmup).
	Warmup int
}

// ScheduleByName returns a schedule of the rate over the epochs:
// "constant"; "cosine" (Cosine over the epochs, down to near zero),
// "step" (StepDecay every DecayEpochs) and "exp" (Exponential), each
// changing the rate once per epoch (PerEpoch); with Warmup steps first.
func ScheduleByName(name string, o ScheduleOptions) (Schedule, error) {
	if o.StepsPerEpoch < 1 || o.Epochs < 1 {
		return nil, fmt.Errorf("schedule %s: %d epochs of %d steps", name, o.Epochs, o.StepsPerEpoch)
	}
	if !(o.Gamma >= 0 && o.Gamma <= 1) || o.DecayEpochs < 0 || o.Warmup < 0 {
		return nil, fmt.Errorf("schedule %s: gamma %v not in (0, 1], or negative decay epochs %d or warm-up %d", name, o.Gamma, o.DecayEpochs, o.Warmup)
	}
	var s Schedule
	switch name {
	case "constant":
		s = Constant{}
	case "cosine":
		s = PerEpoch{Steps: o.StepsPerEpoch, Schedule: Cosine{Steps: o.Epochs}}
	case "step":
		every := o.DecayEpochs
		if every == 0 {
			every = 5
		}
		s = PerEpoch{Steps: o.StepsPerEpoch, Schedule: StepDecay{Every: every, Gamma: defaultTo(o.Gamma, 0.1)}}
	case "exp":
		s = PerEpoch{Steps: o.StepsPerEpoch, Schedule: Exponential{Gamma: defaultTo(o.Gamma, 0.9)}}
	default:
		return nil, fmt.Errorf("unknown schedule %q (want one of %v)", name, ScheduleNames())
	}
	if o.Warmup > 0 {
		s = Warmup{Steps: o.Warmup, Then: s}
	}
	return s, nil
}
