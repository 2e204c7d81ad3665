void vm_softmax_rows(float *out, const float *x, int rows, int n);
void vm_softmax_causal(float *a, int first, int rows, int T);
void vm_softmax_causal_backward(float *ds, const float *a, int first, int rows, int T, int width);
void vm_swiglu(float *out, float *sig, const float *gate, const float *up, long n);
void vm_gelu(float *out, const float *x, long n);
void vm_gelu_backward(float *dx, const float *dout, const float *x, long n);
void vm_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                        const float *sig, long n);
void vm_swiglu_rows(float *out, float *sig, const float *gu, long rows, long H);
void vm_swiglu_backward_rows(float *dgu, const float *dout, const float *gu, const float *sig, long rows, long H);
void vm_rmsnorm(float *out, float *rstd, const float *x, const float *w, long rows, long C, float eps);
void vm_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w, const float *rstd,
                         long rows, long C);
double vm_sum_squares(const float *x, long n);
void vm_scale(float *x, long n, float s);
void vm_adamw(float *w, const float *g, float *m, float *v, long n, float lr, float beta1, float beta2, float eps,
              float wd, float bc1, float bc2);
