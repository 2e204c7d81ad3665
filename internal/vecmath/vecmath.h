void vm_softmax_rows(float *out, const float *x, int rows, int n);
void vm_softmax_causal(float *a, int first, int rows, int T);
void vm_swiglu(float *out, float *sig, const float *gate, const float *up, long n);
void vm_gelu(float *out, const float *x, long n);
void vm_gelu_backward(float *dx, const float *dout, const float *x, long n);
