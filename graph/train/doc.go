// Package train fits a graph.Model's parameters: a Trainer adds a loss to
// each output (by default the one that fits what the output means,
// graph.Model.OutputMeaning: probabilities or logits, cross-entropy, on the
// logits of a final softmax; log-probabilities, NLL; binary probabilities,
// binary cross-entropy; values, mean squared error; see DefaultLoss and
// LossByName), differentiates the
// weighted sum of the losses with gorgonia.Grad, runs the graph on
// Gorgonia's tape machine and steps an Optimizer at the learning rate a
// Schedule gives for each step.
//
//	opt, err := train.OptimizerByName("adamw", train.OptimizerOptions{WeightDecay: 0.05})
//	tr, err := train.NewTrainer(m, train.Config{
//		Optimizer:   opt, // or &train.Adam{Beta2: 0.99}, or one of your own
//		NoDecay:     train.BiasAndNormParams(m), // no decay of biases, batch norm
//		ClipNorm:    1,                          // global gradient-norm clipping
//		Schedule:    train.Warmup{Steps: 100, Then: train.Cosine{Steps: 5900}},
//		Losses:      []train.Loss{train.SparseCrossEntropy}, // integer labels
//		Seed:        1, // shuffling and dropout masks
//	})
//	for epoch := 1; epoch <= 10; epoch++ {
//		stats, err := tr.Epoch(x, labels, 100, nil) // shuffled, seeded
//		val, err := tr.Evaluate(valX, valLabels, 100)
//		...
//	}
//
// # The fit loop
//
// Fit runs the epochs of a whole run, as cmd/train does: a validation split
// or set and a test set scored after every epoch (Metrics of the task:
// accuracy, top-k, per class for classification; MSE, MAE, R² for
// regression), early stopping, an augmentation with its own seeded
// generator, and callbacks after every epoch (SaveModel, SaveBest,
// SaveCheckpoint, TextLog, JSONLog, an EpochFunc of your own; a
// StepCallback after every step, such as Progress's bar; StopAfter). A run
// resumes from a SaveCheckpoint file (Resume, FitOptions.Resume) to the
// same bytes as a run that was not interrupted. FitOptions.Sampler draws
// the batches of each epoch another way: WithReplacement draws them as
// numpy's np.random.choice does (the book's loops). ScheduleByName,
// OptimizerByName, LossByName, ChooseLoss (the loss that fits a model's
// output and the task, or the error that says why a named one does not),
// CheckTargets, Targets, ValidationSize and WithDropout turn a command's
// flags and data into the run's parts.
//
//	tr, _ := train.NewTrainer(m, train.Config{Losses: []train.Loss{train.SparseCrossEntropy}, Seed: 1})
//	h, err := train.Fit(ctx, tr, train.FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{labels}, ValidationSplit: 5000},
//		train.FitOptions{Epochs: 10, Batch: 100, Patience: 3,
//			Callbacks: []train.Callback{train.SaveBest("best.safetensors"), train.TextLog(os.Stdout)}})
//
// # Inputs of other types
//
// Step, Epoch, Evaluate and Fit feed each model input the tensors of its
// element type: float32, or the int64, int32, bool or float64 of an input
// declared with graph.Tensor.As (token ids into a graph.Embedding, say);
// a tensor of another type is an error naming the input and both types.
//
// # Optimisers
//
// SGD (with momentum and Nesterov momentum), AdaGrad, RMSprop, Adam and
// AdamW follow PyTorch's torch.optim formulas and defaults; each doc
// comment writes its update out. Weight decay is coupled (L2: g ← g + λ·w)
// in all but AdamW, whose decay is decoupled (w ← w·(1 − η·λ)). Each runs
// one float32 pass per parameter; SGD with momentum and Adam run eight
// lanes at a time with AVX2 and FMA on amd64. Any type with a Step method
// is an Optimizer; implementing Stateful as well lets a run be saved and
// resumed.
//
// # Losses and targets
//
// Targets are tensors of the output's shape (one-hot rows for
// classification) or, for a SparseLoss, one class label per sample. Each
// built-in loss (LossNames) picks its formula from the output's
// graph.Meaning and refuses an output it does not fit; DefaultLoss gives
// the one that fits, and TaskOf the metrics that apply.
// Config.Losses sets the loss of each output, a LossFunc wraps your own,
// and Config.LossWeights weighs the outputs of a model with several.
//
// # Validation, stopping and resuming
//
// Evaluate scores held-out data in inference mode without touching the
// run; Accuracy scores a graph.Predictor; EarlyStopping stops a run whose
// validation score no longer rises and names the best epoch.
// WriteCheckpoint saves the model with the Trainer's State (optimiser
// buffers, step and epoch counters, generators) in one safetensors file
// that any safetensors reader still opens as the model's weights;
// ReadCheckpoint and SetState continue the run.
//
// # Reproducibility
//
// Initial weights come from graph.Model.Init's seed; the order of each
// epoch and every dropout mask from Config.Seed, through two generators
// whose state the checkpoint keeps. A run repeated with the same seeds,
// data and build gives the same parameters bit for bit, in one process or
// in two, and a run resumed from a checkpoint ends with the bytes of the
// run that was not interrupted. The bits depend on the code path: the AVX2
// and FMA kernels (matrix products, optimisers) round differently from the
// portable ones, and Go compiled with GOAMD64=v3 fuses multiply-adds in
// plain Go code, so identical bytes need the same binary (GOARCH, GOAMD64)
// on CPUs that agree on AVX2 and FMA. A loss that is NaN or infinite stops
// training with ErrDiverged.
//
// A Trainer is not safe for concurrent use, and the model must not run in
// other goroutines while it steps.
package train
