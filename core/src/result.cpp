#include "digits/result.h"

namespace digits {

void WriteRecognition(const Recognition& result, const Network& network, ResultWriter* w) {
  w->BeginObject(nullptr);
  w->String("text", result.text);
  w->Bool("empty", result.empty);
  w->BeginArray("digits");
  for (const DigitResult& d : result.digits) {
    const Prediction& p = d.prediction;
    w->BeginObject(nullptr);
    w->Int("digit", p.digit);
    w->String("label", network.labels[p.digit]);
    w->Bool("not_a_digit", p.not_a_digit);
    w->Bool("unsure", p.unsure);
    w->String("doubt", DoubtName(p.doubt()));
    w->BeginArray("alternatives");
    for (int c : p.alternatives) {
      w->BeginObject(nullptr);
      w->Int("class", c);
      w->String("label", network.labels[c]);
      w->Float("probability", p.probabilities[c]);
      w->EndObject();
    }
    w->EndArray();
    w->Floats("probabilities", p.probabilities);
    w->Floats("logits", p.logits);
    w->Floats("box", {d.box.x0, d.box.y0, d.box.x1, d.box.y1});
    w->Ints("strokes", d.strokes);
    w->BeginObject("input_map");
    w->Float("scale", d.map.scale);
    w->Float("offset_x", d.map.offset_x);
    w->Float("offset_y", d.map.offset_y);
    w->EndObject();
    w->Floats("input", d.input);
    if (d.gradcam.map.empty()) {
      w->Null("gradcam");
    } else {
      // The heatmap over the input grid, so it lies over `input` (and, through input_map, over
      // the drawing); the layer's own low-resolution map stays inside the library.
      w->BeginObject("gradcam");
      w->Int("class", d.gradcam.target_class);
      if (d.gradcam.versus_class >= 0) {
        w->Int("versus", d.gradcam.versus_class);
      } else {
        w->Null("versus");
      }
      w->Int("size", d.gradcam.size);
      w->Floats("map", d.gradcam.heatmap);
      w->EndObject();
    }
    w->EndObject();
  }
  w->EndArray();
  w->EndObject();
}

}  // namespace digits
