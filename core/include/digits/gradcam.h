// Grad-CAM (Selvaraju et al.): which parts of the input made the network choose a class.
// The class score (its logit) is differentiated back through the network's head (the layers after
// network.gradcam_layer) to that layer's activations A (C feature maps, H x W):
//   alpha_k = mean over (h, w) of d score / d A_k,   map = ReLU(sum_k alpha_k A_k),
// scaled to [0, 1] by its maximum (all zeros when the maximum is 0).
#pragma once

#include <vector>

#include "digits/network.h"
#include "digits/status.h"

namespace digits {

struct GradCam {
  int target_class = -1;
  int height = 0, width = 0;  // the Grad-CAM layer's resolution (e.g. 7 x 7)
  std::vector<float> map;     // height x width, row-major, [0, 1]
};

// `activations`: the output of network.gradcam_layer for one input, HWC (as a backend returns it).
Status ComputeGradCam(const Network& network, const std::vector<float>& activations,
                      int target_class, GradCam* out);

// Bilinear upsampling of the map to size x size, cell centres aligned with the input grid's (the
// layer's receptive field centres): the heatmap over the 28x28 input.
std::vector<float> UpsampleGradCam(const GradCam& cam, int size);

}  // namespace digits
