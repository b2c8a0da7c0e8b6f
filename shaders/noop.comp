#version 460
// Does nothing: measures the fixed cost of a dispatch.
layout(local_size_x = 1) in;
void main() {}
