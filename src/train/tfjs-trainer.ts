import type { Manifest } from '../cache/index.js';
import { selectBackend, type SelectedBackend } from './backend/index.js';
import { disposeBatch, toTensors } from './batch.js';
import { evaluate, type EvalMetrics } from './evaluate.js';
import type { CacheLoader, LoaderBatch } from './loader/index.js';
import { AdamW, SGD, type Optimizer, type OptimizerState } from './optim/index.js';
import { trainStep, type StepResult } from './step.js';
import { buildStudent, type Student, type WeightMap } from './students/index.js';
import type { StudentTrainer, TrainerSetup } from './trainer.js';
import { tf } from './backend/index.js';
import type { BackendMemory } from './tensorboard/index.js';

/** A student trained with TensorFlow.js (tfjs-node, wasm or cpu backend) and kennis's own gradients. */
export class TfjsTrainer implements StudentTrainer {
  private constructor(
    private readonly setup: TrainerSetup,
    private readonly selected: SelectedBackend,
    private readonly student: Student,
    private readonly optimizer: Optimizer,
  ) {}

  /** Activates the tfjs backend (`preference`: auto, tfjs-node, wasm, cpu) and builds the student. */
  static async create(setup: TrainerSetup, preference: 'auto' | 'tfjs-node' | 'wasm' | 'cpu'): Promise<TfjsTrainer> {
    const selected = await selectBackend(preference, setup.threads > 0 ? { threads: setup.threads } : {});
    const student = buildStudent(setup.spec, { seed: setup.seed });
    const o = setup.optimizer;
    const optimizer = o.kind === 'sgd'
      ? new SGD(student.params, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay })
      : new AdamW(student.params, { lr: o.lr, weightDecay: o.weightDecay });
    return new TfjsTrainer(setup, selected, student, optimizer);
  }

  get backend(): string {
    return this.selected.name;
  }

  get threads(): number | 'native' {
    return this.selected.threads;
  }

  parameterCount(): number {
    return this.student.parameterCount();
  }

  async step(micro: readonly LoaderBatch[], lr: number, step: number): Promise<StepResult> {
    const { manifest, input, loss, optimizer } = this.setup;
    const tensors = micro.map((b) => toTensors(b, manifest, input));
    try {
      return trainStep(this.student, this.optimizer, tensors, loss, lr, optimizer.clipNorm, step);
    } finally {
      tensors.forEach(disposeBatch);
    }
  }

  evaluate(loader: CacheLoader, manifest: Manifest): Promise<EvalMetrics> {
    return evaluate(this.student, loader, manifest, this.setup.input, this.setup.loss);
  }

  getWeights(): WeightMap {
    return this.student.getWeights();
  }

  setWeights(weights: WeightMap): void {
    this.student.setWeights(weights);
  }

  optimizerState(): OptimizerState {
    return this.optimizer.state();
  }

  loadOptimizerState(state: OptimizerState): void {
    this.optimizer.loadState(state);
  }

  memory(): BackendMemory {
    return tf.memory();
  }

  dispose(): void {
    this.optimizer.dispose();
    this.student.dispose();
  }
}
