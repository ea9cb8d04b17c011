"""The "About" panel: BoE, TIS and AQA in plain words (for a classroom)."""

ABOUT_MD = """
### How a masked diffusion model writes

A **masked diffusion language model** starts from a canvas where the answer is hidden behind
`[MASK]` tokens. At every **step** it looks at the whole canvas at once, guesses a token for every
mask, and then *commits* a few of those guesses, leaving the others masked for later. After the last
step nothing is masked any more. The interesting question is **which masks to reveal first**: an
early wrong commit cannot be taken back, and every later guess builds on it.

Simple rules pick the positions the model is most sure about: **confidence** (highest top
probability), **margin** (biggest gap between the two best guesses) or lowest **entropy**.

### Backward-on-Entropy (BoE)

BoE asks a different question: *which reveal would make the rest of the canvas easiest?* It measures
how uncertain the still-masked positions are, with their total **entropy** `F`, and prefers commits
that should lower `F` the most. Trying every candidate for real would cost one extra model pass per
candidate. BoE instead takes **one backward pass**: the gradient `∂F/∂e` of the future entropy with
respect to each position's input embedding tells how `F` would change if that position's embedding
moved.

### Token Influence Score (TIS)

For a candidate position *i*, revealing it moves its embedding from the `[MASK]` embedding towards
the embedding of the token it will receive. The **Token Influence Score** is the first-order
prediction of the entropy drop that move causes:

&nbsp;&nbsp;&nbsp;&nbsp;`TIS_i = −⟨ ∂F/∂e_i , e_token − e_[MASK] ⟩`

A large positive TIS means "revealing *i* should make the remaining masks more certain". The
**Fidelity** tab checks that claim on one step: it computes the *exact* entropy drop of each candidate
(one extra forward each) and plots it against TIS, with their rank correlation (Spearman ρ; 1 means
TIS orders the candidates exactly like the real drop).

### ActiveQueryAttention (AQA)

The backward pass only needs gradients for the rows that matter: the candidates and the
**probes** (the masked positions whose entropy is measured). **ActiveQueryAttention** computes the
attention forward exactly, for every position, but keeps the gradient graph only for those *active*
query rows. The backward is therefore sparse: cheaper in time and memory, with the same TIS values.
Switch it off in *BoE knobs* to compare with a dense backward.

### Reading the explorer

* **Canvas**: grey = prompt / clue, white = committed earlier, green = committed at this step,
  dashed = still masked (its faint text is the model's current best guess). Hover any masked position
  for its top proposals and their probabilities.
* **Overlay**: colour the positions that were masked at this step by confidence, entropy, TIS or the
  gradient size `‖∂F/∂e‖`.
* **Charts**: heatmaps show one value per position (x) and step (y); circles mark the commits.
* **Compare**: from the selected step, decode the rest with another policy and see where the two
  runs first disagree (and, for Sudoku, where each one first goes wrong).
"""
