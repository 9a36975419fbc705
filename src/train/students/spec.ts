/** Hidden-layer activation of an MLP. */
export type MlpActivation = 'relu' | 'gelu' | 'tanh';

/** A multi-layer perceptron over flat float inputs. */
export interface MlpSpec {
  arch: 'mlp';
  /** Number of input features (inputs of any shape [B, ...] with this many values per row are flattened). */
  inputs: number;
  /** Widths of the hidden layers, input side first. */
  hidden: number[];
  /** Activation after every hidden layer. */
  activation: MlpActivation;
  /** Dropout rate after every hidden activation (0 = none). */
  dropout: number;
  /** Dropout rate on the inputs (default 0). */
  inputDropout?: number;
  /** Number of output classes (logits). */
  classes: number;
  /**
   * Indices into `hidden` of layers with no activation and no dropout: the rank-r bottleneck of a
   * factorized layer W ≈ A·B (in x r)(r x out), see lowRankSpec (default none).
   */
  linearHidden?: number[];
}

/** One convolution block: conv (stride 1, 'same', odd kernel) + ReLU, then optional max pooling. */
export interface ConvLayerSpec {
  /** Output channels. */
  filters: number;
  /** Odd square kernel size. */
  kernel: number;
  /** Max-pool window and stride (valid padding); omit or 1 for none. */
  pool?: number;
}

/** A small convolutional network over NHWC images. */
export interface CnnSpec {
  arch: 'cnn';
  /** Input image shape [H, W, C]; inputs may be [B,H,W,C] or flat [B, H*W*C] in NHWC order. */
  inputShape: [number, number, number];
  /** Convolution blocks, input side first. */
  conv: ConvLayerSpec[];
  /** Widths of the ReLU dense layers after flattening. */
  dense: number[];
  /** Dropout rate after every hidden dense layer (default 0). */
  dropout?: number;
  /** Number of output classes (logits). */
  classes: number;
}

/** A decoder-only causal transformer over int32 token ids. */
export interface GptSpec {
  arch: 'gpt';
  /** Vocabulary size V. */
  vocab: number;
  /** Model width D. */
  dModel: number;
  /** Number of transformer blocks. */
  layers: number;
  /** Attention heads; must divide dModel. */
  heads: number;
  /** Maximum sequence length (size of the learned position table). */
  seqLen: number;
  /** MLP hidden width as a multiple of dModel (default 4). */
  mlpRatio?: number;
  /** Dropout rate on embeddings, attention probabilities and residual branches (default 0). */
  dropout?: number;
  /** Output head shares the token embedding (logits = h·tok_embᵀ) instead of its own lm_head (default false). */
  tiedHead?: boolean;
}

/** Any student architecture, discriminated by `arch`. */
export type StudentSpec = MlpSpec | CnnSpec | GptSpec;
