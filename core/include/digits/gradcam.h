// Grad-CAM (Selvaraju et al.): which parts of the input made the network choose a class.
// The class score (its logit) is differentiated back through the network's head (the layers after
// network.gradcam_layer) to that layer's activations A (C feature maps, H x W):
//   alpha_k = mean over (h, w) of d score / d A_k,   map = ReLU(sum_k alpha_k A_k),
// scaled to [0, 1] by its maximum (all zeros when the maximum is 0).
//
// With a second class ("why 7 and not 1") the score is the difference of the two logits, so the
// map shows what speaks for the first class against the second.
//
// What front ends show is `heatmap`: the layer's map upsampled to the input grid and multiplied by
// the input's own ink, rescaled to [0, 1]. A 7x7 map alone is a blob that spills past the strokes
// (and, in a number, onto the neighbours); weighted by the ink it lights the strokes that decided
// the class, and it is more faithful: deleting pixels in its order drops the class probability
// about twice as fast as the plain map's order (model/explain.py, the model card).
#pragma once

#include <vector>

#include "digits/network.h"
#include "digits/status.h"

namespace digits {

struct GradCam {
  int target_class = -1;
  int versus_class = -1;       // -1: the target's own logit; else logit[target] - logit[versus]
  int height = 0, width = 0;   // the Grad-CAM layer's resolution (e.g. 7 x 7)
  std::vector<float> map;      // height x width, row-major, [0, 1]
  int size = 0;                // the input grid's side (28), once ApplyToInput has run
  std::vector<float> heatmap;  // size x size over the input: map x ink, [0, 1]
};

// `activations`: the output of network.gradcam_layer for one input, HWC (as a backend returns it).
// `versus_class` -1 explains the target class alone; another class must differ from the target.
Status ComputeGradCam(const Network& network, const std::vector<float>& activations,
                      int target_class, int versus_class, GradCam* out);
inline Status ComputeGradCam(const Network& network, const std::vector<float>& activations,
                             int target_class, GradCam* out) {
  return ComputeGradCam(network, activations, target_class, -1, out);
}

// Fills cam->heatmap from cam->map and the input the network saw (size x size pixels in [0, 1],
// 0 = background): UpsampleGradCam x input, divided by its maximum (all zeros without ink).
void ApplyToInput(const std::vector<float>& input, int size, GradCam* cam);

// Bilinear upsampling of the map to size x size, cell centres aligned with the input grid's (the
// layer's receptive field centres): the heatmap over the 28x28 input.
std::vector<float> UpsampleGradCam(const GradCam& cam, int size);

}  // namespace digits
