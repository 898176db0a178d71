/* oplist.h -- every operator file under ops/, once.  Each file FOO.c
 * defines `const kl_op *const kl_opfile_FOO[]`, a NULL-terminated list of
 * its descriptors (one per opset range).  To add an operator: write
 * ops/FOO.c, add X(FOO) here and ops/FOO.c to Makefile.am. */
X(add) X(sub) X(mul) X(div)
X(relu) X(leakyrelu) X(clip) X(sigmoid) X(hardsigmoid) X(hardswish)
X(concat) X(split) X(slice) X(reshape) X(flatten) X(transpose)
X(squeeze) X(unsqueeze) X(shape) X(gather) X(pad) X(cast)
X(constant) X(constantofshape) X(identity) X(dropout)
X(conv) X(gemm) X(matmul) X(maxpool) X(averagepool)
X(globalaveragepool) X(globalmaxpool) X(batchnormalization) X(lrn)
X(softmax) X(reducemean)
X(logsoftmax) X(hardmax)
X(if) X(loop) X(scan) X(quantizelinear) X(dequantizelinear) X(dynamicquantizelinear)
X(matmulinteger) X(qlinearmatmul) X(rnn) X(gru) X(lstm) X(dft)
X(stft) X(hannwindow) X(hammingwindow) X(blackmanwindow) X(melweightmatrix) X(gridsample)
X(roialign) X(nonmaxsuppression) X(reducesum) X(reducemax) X(reducemin) X(reduceprod)
X(reducel1) X(reducel2) X(reducelogsum) X(reducelogsumexp) X(reducesumsquare) X(argmax)
X(argmin) X(negativeloglikelihoodloss) X(softmaxcrossentropyloss) X(layernormalization) X(instancenormalization) X(meanvariancenormalization)
X(convtranspose) X(einsum) X(det)
X(sqrt) X(exp) X(log) X(reciprocal) X(floor) X(ceil) X(round) X(tanh) X(erf) X(sin) X(cos) X(tan) X(asin) X(acos) X(atan) X(sinh) X(cosh) X(asinh) X(acosh) X(atanh) X(softplus) X(softsign) X(elu) X(selu) X(celu) X(thresholdedrelu) X(shrink) X(mish) X(abs) X(neg) X(sign) X(isnan) X(isinf) X(not)
X(equal) X(greater) X(greaterorequal) X(less) X(lessorequal) X(and)
X(or) X(xor) X(sum) X(mean) X(max) X(min)
X(lpnormalization) X(globallppool) X(lppool)
