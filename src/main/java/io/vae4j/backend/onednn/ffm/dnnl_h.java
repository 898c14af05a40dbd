package io.vae4j.backend.onednn.ffm;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Bindings for the part of oneDNN 2.6's C API ({@code oneapi/dnnl/dnnl.h}) that vae4j uses, kept by hand in the
 * shape jextract generates: one static wrapper per function (returning the raw {@code dnnl_status_t}), constants
 * as static methods, structs as classes of their own. {@code jextract/includes.txt} lists every symbol here and
 * {@code jextract/regenerate.sh} regenerates them where jextract is installed; {@code jextract/check.sh} compares
 * the constants and struct sizes below with the installed header. The library is libdnnl.so.2 from Debian's
 * {@code libdnnl2}; where it is absent {@link #LIBRARY} is not loaded and any call throws
 * {@link UnsatisfiedLinkError} (wrapped in an {@link ExceptionInInitializerError}), so check first.
 */
@SuppressWarnings("unused")
public final class dnnl_h {

    dnnl_h() {
        // Should not be called directly
    }

    /** libdnnl, or the reason it did not load (see {@link NativeLibrary}). */
    public static final NativeLibrary LIBRARY = NativeLibrary.load("libdnnl.so.2", "libdnnl.so");

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS
            .withTargetLayout(MemoryLayout.sequenceLayout(Long.MAX_VALUE, ValueLayout.JAVA_BYTE));

    /** {@code typedef int64_t dnnl_dim_t}; {@code dnnl_dims_t} is {@code dnnl_dim_t[DNNL_MAX_NDIMS]}. */
    public static final ValueLayout.OfLong dnnl_dim_t = C_LONG;
    public static final MemoryLayout dnnl_dims_t = MemoryLayout.sequenceLayout(12, dnnl_dim_t);
    private static final int dnnl_success = (int) 0L;

    /**
     * {@snippet lang=c :
     * enum dnnl_status_t.dnnl_success = 0
     * }
     */
    public static int dnnl_success() {
        return dnnl_success;
    }

    private static final int dnnl_out_of_memory = (int) 1L;

    /**
     * {@snippet lang=c :
     * enum dnnl_status_t.dnnl_out_of_memory = 1
     * }
     */
    public static int dnnl_out_of_memory() {
        return dnnl_out_of_memory;
    }

    private static final int dnnl_invalid_arguments = (int) 2L;

    /**
     * {@snippet lang=c :
     * enum dnnl_status_t.dnnl_invalid_arguments = 2
     * }
     */
    public static int dnnl_invalid_arguments() {
        return dnnl_invalid_arguments;
    }

    private static final int dnnl_unimplemented = (int) 3L;

    /**
     * {@snippet lang=c :
     * enum dnnl_status_t.dnnl_unimplemented = 3
     * }
     */
    public static int dnnl_unimplemented() {
        return dnnl_unimplemented;
    }

    private static final int dnnl_iterator_ends = (int) 4L;

    /**
     * {@snippet lang=c :
     * enum dnnl_status_t.dnnl_iterator_ends = 4
     * }
     */
    public static int dnnl_iterator_ends() {
        return dnnl_iterator_ends;
    }

    private static final int dnnl_runtime_error = (int) 5L;

    /**
     * {@snippet lang=c :
     * enum dnnl_status_t.dnnl_runtime_error = 5
     * }
     */
    public static int dnnl_runtime_error() {
        return dnnl_runtime_error;
    }

    private static final int dnnl_not_required = (int) 6L;

    /**
     * {@snippet lang=c :
     * enum dnnl_status_t.dnnl_not_required = 6
     * }
     */
    public static int dnnl_not_required() {
        return dnnl_not_required;
    }

    private static final int dnnl_bf16 = (int) 2L;

    /**
     * {@snippet lang=c :
     * enum dnnl_data_type_t.dnnl_bf16 = 2
     * }
     */
    public static int dnnl_bf16() {
        return dnnl_bf16;
    }

    private static final int dnnl_f32 = (int) 3L;

    /**
     * {@snippet lang=c :
     * enum dnnl_data_type_t.dnnl_f32 = 3
     * }
     */
    public static int dnnl_f32() {
        return dnnl_f32;
    }

    private static final int dnnl_blocked = (int) 2L;

    /**
     * {@snippet lang=c :
     * enum dnnl_format_kind_t.dnnl_blocked = 2
     * }
     */
    public static int dnnl_blocked() {
        return dnnl_blocked;
    }

    private static final int dnnl_format_tag_undef = (int) 0L;

    /**
     * {@snippet lang=c :
     * enum dnnl_format_tag_t.dnnl_format_tag_undef = 0
     * }
     */
    public static int dnnl_format_tag_undef() {
        return dnnl_format_tag_undef;
    }

    private static final int dnnl_format_tag_any = (int) 1L;

    /**
     * {@snippet lang=c :
     * enum dnnl_format_tag_t.dnnl_format_tag_any = 1
     * }
     */
    public static int dnnl_format_tag_any() {
        return dnnl_format_tag_any;
    }

    private static final int dnnl_a = (int) 2L;

    /**
     * {@snippet lang=c :
     * enum dnnl_format_tag_t.dnnl_a = 2
     * }
     */
    public static int dnnl_a() {
        return dnnl_a;
    }

    private static final int dnnl_x = (int) 2L;

    /**
     * {@snippet lang=c :
     * enum dnnl_format_tag_t.dnnl_x = 2
     * }
     */
    public static int dnnl_x() {
        return dnnl_x;
    }

    private static final int dnnl_abc = (int) 4L;

    /**
     * {@snippet lang=c :
     * enum dnnl_format_tag_t.dnnl_abc = 4
     * }
     */
    public static int dnnl_abc() {
        return dnnl_abc;
    }

    private static final int dnnl_nchw = (int) 5L;

    /**
     * {@snippet lang=c :
     * enum dnnl_format_tag_t.dnnl_nchw = 5
     * }
     */
    public static int dnnl_nchw() {
        return dnnl_nchw;
    }

    private static final int dnnl_nhwc = (int) 20L;

    /**
     * {@snippet lang=c :
     * enum dnnl_format_tag_t.dnnl_nhwc = 20
     * }
     */
    public static int dnnl_nhwc() {
        return dnnl_nhwc;
    }

    private static final int dnnl_oihw = (int) 5L;

    /**
     * {@snippet lang=c :
     * enum dnnl_format_tag_t.dnnl_oihw = 5
     * }
     */
    public static int dnnl_oihw() {
        return dnnl_oihw;
    }

    private static final int dnnl_iohw = (int) 24L;

    /**
     * {@snippet lang=c :
     * enum dnnl_format_tag_t.dnnl_iohw = 24
     * }
     */
    public static int dnnl_iohw() {
        return dnnl_iohw;
    }

    private static final int dnnl_nChw8c = (int) 93L;

    /**
     * {@snippet lang=c :
     * enum dnnl_format_tag_t.dnnl_nChw8c = 93
     * }
     */
    public static int dnnl_nChw8c() {
        return dnnl_nChw8c;
    }

    private static final int dnnl_nChw16c = (int) 69L;

    /**
     * {@snippet lang=c :
     * enum dnnl_format_tag_t.dnnl_nChw16c = 69
     * }
     */
    public static int dnnl_nChw16c() {
        return dnnl_nChw16c;
    }

    private static final int dnnl_cpu = (int) 1L;

    /**
     * {@snippet lang=c :
     * enum dnnl_engine_kind_t.dnnl_cpu = 1
     * }
     */
    public static int dnnl_cpu() {
        return dnnl_cpu;
    }

    private static final int dnnl_stream_default_flags = (int) 1L;

    /**
     * {@snippet lang=c :
     * enum dnnl_stream_flags_t.dnnl_stream_default_flags = 1
     * }
     */
    public static int dnnl_stream_default_flags() {
        return dnnl_stream_default_flags;
    }

    private static final int dnnl_forward_inference = (int) 96L;

    /**
     * {@snippet lang=c :
     * enum dnnl_prop_kind_t.dnnl_forward_inference = 96
     * }
     */
    public static int dnnl_forward_inference() {
        return dnnl_forward_inference;
    }

    private static final int dnnl_convolution_direct = (int) 1L;

    /**
     * {@snippet lang=c :
     * enum dnnl_alg_kind_t.dnnl_convolution_direct = 1
     * }
     */
    public static int dnnl_convolution_direct() {
        return dnnl_convolution_direct;
    }

    private static final int dnnl_convolution_auto = (int) 3L;

    /**
     * {@snippet lang=c :
     * enum dnnl_alg_kind_t.dnnl_convolution_auto = 3
     * }
     */
    public static int dnnl_convolution_auto() {
        return dnnl_convolution_auto;
    }

    private static final int dnnl_deconvolution_direct = (int) 10L;

    /**
     * {@snippet lang=c :
     * enum dnnl_alg_kind_t.dnnl_deconvolution_direct = 10
     * }
     */
    public static int dnnl_deconvolution_direct() {
        return dnnl_deconvolution_direct;
    }

    private static final int dnnl_eltwise_relu = (int) 31L;

    /**
     * {@snippet lang=c :
     * enum dnnl_alg_kind_t.dnnl_eltwise_relu = 31
     * }
     */
    public static int dnnl_eltwise_relu() {
        return dnnl_eltwise_relu;
    }

    private static final int dnnl_eltwise_logistic = (int) 175L;

    /**
     * {@snippet lang=c :
     * enum dnnl_alg_kind_t.dnnl_eltwise_logistic = 175
     * }
     */
    public static int dnnl_eltwise_logistic() {
        return dnnl_eltwise_logistic;
    }

    private static final int dnnl_eltwise_swish = (int) 223L;

    /**
     * {@snippet lang=c :
     * enum dnnl_alg_kind_t.dnnl_eltwise_swish = 223
     * }
     */
    public static int dnnl_eltwise_swish() {
        return dnnl_eltwise_swish;
    }

    private static final int dnnl_query_impl_info_str = (int) 8L;

    /**
     * {@snippet lang=c :
     * enum dnnl_query_t.dnnl_query_impl_info_str = 8
     * }
     */
    public static int dnnl_query_impl_info_str() {
        return dnnl_query_impl_info_str;
    }

    private static final int dnnl_query_src_md = (int) 129L;

    /**
     * {@snippet lang=c :
     * enum dnnl_query_t.dnnl_query_src_md = 129
     * }
     */
    public static int dnnl_query_src_md() {
        return dnnl_query_src_md;
    }

    private static final int dnnl_query_weights_md = (int) 131L;

    /**
     * {@snippet lang=c :
     * enum dnnl_query_t.dnnl_query_weights_md = 131
     * }
     */
    public static int dnnl_query_weights_md() {
        return dnnl_query_weights_md;
    }

    private static final int dnnl_query_dst_md = (int) 133L;

    /**
     * {@snippet lang=c :
     * enum dnnl_query_t.dnnl_query_dst_md = 133
     * }
     */
    public static int dnnl_query_dst_md() {
        return dnnl_query_dst_md;
    }

    private static final int dnnl_query_scratchpad_md = (int) 136L;

    /**
     * {@snippet lang=c :
     * enum dnnl_query_t.dnnl_query_scratchpad_md = 136
     * }
     */
    public static int dnnl_query_scratchpad_md() {
        return dnnl_query_scratchpad_md;
    }

    private static final int dnnl_scratchpad_mode_library = (int) 0L;

    /**
     * {@snippet lang=c :
     * enum dnnl_scratchpad_mode_t.dnnl_scratchpad_mode_library = 0
     * }
     */
    public static int dnnl_scratchpad_mode_library() {
        return dnnl_scratchpad_mode_library;
    }

    private static final int dnnl_scratchpad_mode_user = (int) 1L;

    /**
     * {@snippet lang=c :
     * enum dnnl_scratchpad_mode_t.dnnl_scratchpad_mode_user = 1
     * }
     */
    public static int dnnl_scratchpad_mode_user() {
        return dnnl_scratchpad_mode_user;
    }

    private static final int dnnl_cpu_isa_all = (int) 0L;

    /**
     * {@snippet lang=c :
     * enum dnnl_cpu_isa_t.dnnl_cpu_isa_all = 0
     * }
     */
    public static int dnnl_cpu_isa_all() {
        return dnnl_cpu_isa_all;
    }

    private static final int dnnl_cpu_isa_avx2 = (int) 7L;

    /**
     * {@snippet lang=c :
     * enum dnnl_cpu_isa_t.dnnl_cpu_isa_avx2 = 7
     * }
     */
    public static int dnnl_cpu_isa_avx2() {
        return dnnl_cpu_isa_avx2;
    }

    private static final int dnnl_cpu_isa_avx512_core = (int) 39L;

    /**
     * {@snippet lang=c :
     * enum dnnl_cpu_isa_t.dnnl_cpu_isa_avx512_core = 39
     * }
     */
    public static int dnnl_cpu_isa_avx512_core() {
        return dnnl_cpu_isa_avx512_core;
    }

    private static final int dnnl_cpu_isa_avx512_core_bf16 = (int) 231L;

    /**
     * {@snippet lang=c :
     * enum dnnl_cpu_isa_t.dnnl_cpu_isa_avx512_core_bf16 = 231
     * }
     */
    public static int dnnl_cpu_isa_avx512_core_bf16() {
        return dnnl_cpu_isa_avx512_core_bf16;
    }

    private static final int DNNL_MAX_NDIMS = (int) 12L;

    /**
     * {@snippet lang=c :
     * #define DNNL_MAX_NDIMS 12
     * }
     */
    public static int DNNL_MAX_NDIMS() {
        return DNNL_MAX_NDIMS;
    }

    private static final int DNNL_ARG_SRC = (int) 1L;

    /**
     * {@snippet lang=c :
     * #define DNNL_ARG_SRC 1
     * }
     */
    public static int DNNL_ARG_SRC() {
        return DNNL_ARG_SRC;
    }

    private static final int DNNL_ARG_DST = (int) 17L;

    /**
     * {@snippet lang=c :
     * #define DNNL_ARG_DST 17
     * }
     */
    public static int DNNL_ARG_DST() {
        return DNNL_ARG_DST;
    }

    private static final int DNNL_ARG_WEIGHTS = (int) 33L;

    /**
     * {@snippet lang=c :
     * #define DNNL_ARG_WEIGHTS 33
     * }
     */
    public static int DNNL_ARG_WEIGHTS() {
        return DNNL_ARG_WEIGHTS;
    }

    private static final int DNNL_ARG_BIAS = (int) 41L;

    /**
     * {@snippet lang=c :
     * #define DNNL_ARG_BIAS 41
     * }
     */
    public static int DNNL_ARG_BIAS() {
        return DNNL_ARG_BIAS;
    }

    private static final int DNNL_ARG_SCRATCHPAD = (int) 80L;

    /**
     * {@snippet lang=c :
     * #define DNNL_ARG_SCRATCHPAD 80
     * }
     */
    public static int DNNL_ARG_SCRATCHPAD() {
        return DNNL_ARG_SCRATCHPAD;
    }

    private static final int DNNL_ARG_FROM = (int) 1L;

    /**
     * {@snippet lang=c :
     * #define DNNL_ARG_FROM 1
     * }
     */
    public static int DNNL_ARG_FROM() {
        return DNNL_ARG_FROM;
    }

    private static final int DNNL_ARG_TO = (int) 17L;

    /**
     * {@snippet lang=c :
     * #define DNNL_ARG_TO 17
     * }
     */
    public static int DNNL_ARG_TO() {
        return DNNL_ARG_TO;
    }

    private static final int DNNL_RUNTIME_SEQ = (int) 1L;

    /**
     * {@snippet lang=c :
     * #define DNNL_RUNTIME_SEQ 1
     * }
     */
    public static int DNNL_RUNTIME_SEQ() {
        return DNNL_RUNTIME_SEQ;
    }

    private static final int DNNL_RUNTIME_OMP = (int) 2L;

    /**
     * {@snippet lang=c :
     * #define DNNL_RUNTIME_OMP 2
     * }
     */
    public static int DNNL_RUNTIME_OMP() {
        return DNNL_RUNTIME_OMP;
    }

    private static final int DNNL_RUNTIME_TBB = (int) 4L;

    /**
     * {@snippet lang=c :
     * #define DNNL_RUNTIME_TBB 4
     * }
     */
    public static int DNNL_RUNTIME_TBB() {
        return DNNL_RUNTIME_TBB;
    }

    private static final int DNNL_RUNTIME_THREADPOOL = (int) 8L;

    /**
     * {@snippet lang=c :
     * #define DNNL_RUNTIME_THREADPOOL 8
     * }
     */
    public static int DNNL_RUNTIME_THREADPOOL() {
        return DNNL_RUNTIME_THREADPOOL;
    }


    private static final class dnnl_engine_create {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_LONG);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_engine_create");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_engine_create(dnnl_engine_t *engine, dnnl_engine_kind_t kind, size_t index);
     * }
     */
    public static int dnnl_engine_create(MemorySegment engine, int kind, long index) {
        var mh$ = dnnl_engine_create.HANDLE;
        try {
            return (int) mh$.invokeExact(engine, kind, index);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_engine_destroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_engine_destroy");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_engine_destroy(dnnl_engine_t engine);
     * }
     */
    public static int dnnl_engine_destroy(MemorySegment engine) {
        var mh$ = dnnl_engine_destroy.HANDLE;
        try {
            return (int) mh$.invokeExact(engine);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_stream_create {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_INT);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_stream_create");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_stream_create(dnnl_stream_t *stream, dnnl_engine_t engine, unsigned flags);
     * }
     */
    public static int dnnl_stream_create(MemorySegment stream, MemorySegment engine, int flags) {
        var mh$ = dnnl_stream_create.HANDLE;
        try {
            return (int) mh$.invokeExact(stream, engine, flags);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_stream_wait {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_stream_wait");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_stream_wait(dnnl_stream_t stream);
     * }
     */
    public static int dnnl_stream_wait(MemorySegment stream) {
        var mh$ = dnnl_stream_wait.HANDLE;
        try {
            return (int) mh$.invokeExact(stream);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_stream_destroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_stream_destroy");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_stream_destroy(dnnl_stream_t stream);
     * }
     */
    public static int dnnl_stream_destroy(MemorySegment stream) {
        var mh$ = dnnl_stream_destroy.HANDLE;
        try {
            return (int) mh$.invokeExact(stream);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_memory_desc_init_by_tag {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_POINTER, C_INT, C_INT);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_memory_desc_init_by_tag");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_memory_desc_init_by_tag(dnnl_memory_desc_t *memory_desc, int ndims, const
     *     dnnl_dims_t dims, dnnl_data_type_t data_type, dnnl_format_tag_t tag);
     * }
     */
    public static int dnnl_memory_desc_init_by_tag(MemorySegment memory_desc, int ndims, MemorySegment dims, int data_type, int tag) {
        var mh$ = dnnl_memory_desc_init_by_tag.HANDLE;
        try {
            return (int) mh$.invokeExact(memory_desc, ndims, dims, data_type, tag);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_memory_desc_init_by_strides {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_POINTER, C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_memory_desc_init_by_strides");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_memory_desc_init_by_strides(dnnl_memory_desc_t *memory_desc, int ndims, const
     *     dnnl_dims_t dims, dnnl_data_type_t data_type, const dnnl_dims_t strides);
     * }
     */
    public static int dnnl_memory_desc_init_by_strides(MemorySegment memory_desc, int ndims, MemorySegment dims, int data_type, MemorySegment strides) {
        var mh$ = dnnl_memory_desc_init_by_strides.HANDLE;
        try {
            return (int) mh$.invokeExact(memory_desc, ndims, dims, data_type, strides);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_memory_desc_init_submemory {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_memory_desc_init_submemory");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_memory_desc_init_submemory(dnnl_memory_desc_t *memory_desc,
     *     const dnnl_memory_desc_t *parent_memory_desc, const dnnl_dims_t dims, const dnnl_dims_t offsets);
     * }
     */
    public static int dnnl_memory_desc_init_submemory(MemorySegment memory_desc, MemorySegment parent_memory_desc, MemorySegment dims, MemorySegment offsets) {
        var mh$ = dnnl_memory_desc_init_submemory.HANDLE;
        try {
            return (int) mh$.invokeExact(memory_desc, parent_memory_desc, dims, offsets);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_memory_desc_equal {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_memory_desc_equal");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * int dnnl_memory_desc_equal(const dnnl_memory_desc_t *lhs, const dnnl_memory_desc_t *rhs);
     * }
     */
    public static int dnnl_memory_desc_equal(MemorySegment lhs, MemorySegment rhs) {
        var mh$ = dnnl_memory_desc_equal.HANDLE;
        try {
            return (int) mh$.invokeExact(lhs, rhs);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_memory_desc_get_size {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_LONG, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_memory_desc_get_size");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * size_t dnnl_memory_desc_get_size(const dnnl_memory_desc_t *memory_desc);
     * }
     */
    public static long dnnl_memory_desc_get_size(MemorySegment memory_desc) {
        var mh$ = dnnl_memory_desc_get_size.HANDLE;
        try {
            return (long) mh$.invokeExact(memory_desc);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_memory_create {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_memory_create");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_memory_create(dnnl_memory_t *memory, const dnnl_memory_desc_t *memory_desc,
     *     dnnl_engine_t engine, void *handle);
     * }
     */
    public static int dnnl_memory_create(MemorySegment memory, MemorySegment memory_desc, MemorySegment engine, MemorySegment handle) {
        var mh$ = dnnl_memory_create.HANDLE;
        try {
            return (int) mh$.invokeExact(memory, memory_desc, engine, handle);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_memory_get_data_handle {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_memory_get_data_handle");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_memory_get_data_handle(const_dnnl_memory_t memory, void **handle);
     * }
     */
    public static int dnnl_memory_get_data_handle(MemorySegment memory, MemorySegment handle) {
        var mh$ = dnnl_memory_get_data_handle.HANDLE;
        try {
            return (int) mh$.invokeExact(memory, handle);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_memory_set_data_handle {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_memory_set_data_handle");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_memory_set_data_handle(dnnl_memory_t memory, void *handle);
     * }
     */
    public static int dnnl_memory_set_data_handle(MemorySegment memory, MemorySegment handle) {
        var mh$ = dnnl_memory_set_data_handle.HANDLE;
        try {
            return (int) mh$.invokeExact(memory, handle);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_memory_destroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_memory_destroy");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_memory_destroy(dnnl_memory_t memory);
     * }
     */
    public static int dnnl_memory_destroy(MemorySegment memory) {
        var mh$ = dnnl_memory_destroy.HANDLE;
        try {
            return (int) mh$.invokeExact(memory);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_convolution_forward_desc_init {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_convolution_forward_desc_init");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_convolution_forward_desc_init(dnnl_convolution_desc_t *conv_desc,
     *     dnnl_prop_kind_t prop_kind, dnnl_alg_kind_t alg_kind, const dnnl_memory_desc_t *src_desc, const
     *     dnnl_memory_desc_t *weights_desc, const dnnl_memory_desc_t *bias_desc, const dnnl_memory_desc_t
     *     *dst_desc, const dnnl_dims_t strides, const dnnl_dims_t padding_l, const dnnl_dims_t padding_r);
     * }
     */
    public static int dnnl_convolution_forward_desc_init(MemorySegment conv_desc, int prop_kind, int alg_kind, MemorySegment src_desc, MemorySegment weights_desc, MemorySegment bias_desc, MemorySegment dst_desc, MemorySegment strides, MemorySegment padding_l, MemorySegment padding_r) {
        var mh$ = dnnl_convolution_forward_desc_init.HANDLE;
        try {
            return (int) mh$.invokeExact(conv_desc, prop_kind, alg_kind, src_desc, weights_desc, bias_desc, dst_desc, strides, padding_l, padding_r);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_dilated_convolution_forward_desc_init {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_dilated_convolution_forward_desc_init");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_dilated_convolution_forward_desc_init(dnnl_convolution_desc_t *conv_desc,
     *     dnnl_prop_kind_t prop_kind, dnnl_alg_kind_t alg_kind, const dnnl_memory_desc_t *src_desc, const
     *     dnnl_memory_desc_t *weights_desc, const dnnl_memory_desc_t *bias_desc, const dnnl_memory_desc_t
     *     *dst_desc, const dnnl_dims_t strides, const dnnl_dims_t dilates, const dnnl_dims_t padding_l,
     *     const dnnl_dims_t padding_r);
     * }
     */
    public static int dnnl_dilated_convolution_forward_desc_init(MemorySegment conv_desc, int prop_kind, int alg_kind, MemorySegment src_desc, MemorySegment weights_desc, MemorySegment bias_desc, MemorySegment dst_desc, MemorySegment strides, MemorySegment dilates, MemorySegment padding_l, MemorySegment padding_r) {
        var mh$ = dnnl_dilated_convolution_forward_desc_init.HANDLE;
        try {
            return (int) mh$.invokeExact(conv_desc, prop_kind, alg_kind, src_desc, weights_desc, bias_desc, dst_desc, strides, dilates, padding_l, padding_r);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_deconvolution_forward_desc_init {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_deconvolution_forward_desc_init");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_deconvolution_forward_desc_init(dnnl_deconvolution_desc_t *deconv_desc,
     *     dnnl_prop_kind_t prop_kind, dnnl_alg_kind_t alg_kind, const dnnl_memory_desc_t *src_desc, const
     *     dnnl_memory_desc_t *weights_desc, const dnnl_memory_desc_t *bias_desc, const dnnl_memory_desc_t
     *     *dst_desc, const dnnl_dims_t strides, const dnnl_dims_t padding_l, const dnnl_dims_t padding_r);
     * }
     */
    public static int dnnl_deconvolution_forward_desc_init(MemorySegment deconv_desc, int prop_kind, int alg_kind, MemorySegment src_desc, MemorySegment weights_desc, MemorySegment bias_desc, MemorySegment dst_desc, MemorySegment strides, MemorySegment padding_l, MemorySegment padding_r) {
        var mh$ = dnnl_deconvolution_forward_desc_init.HANDLE;
        try {
            return (int) mh$.invokeExact(deconv_desc, prop_kind, alg_kind, src_desc, weights_desc, bias_desc, dst_desc, strides, padding_l, padding_r);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_matmul_desc_init {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_matmul_desc_init");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_matmul_desc_init(dnnl_matmul_desc_t *matmul_desc, const dnnl_memory_desc_t *src_desc,
     *     const dnnl_memory_desc_t *weights_desc, const dnnl_memory_desc_t *bias_desc,
     *     const dnnl_memory_desc_t *dst_desc);
     * }
     */
    public static int dnnl_matmul_desc_init(MemorySegment matmul_desc, MemorySegment src_desc, MemorySegment weights_desc, MemorySegment bias_desc, MemorySegment dst_desc) {
        var mh$ = dnnl_matmul_desc_init.HANDLE;
        try {
            return (int) mh$.invokeExact(matmul_desc, src_desc, weights_desc, bias_desc, dst_desc);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_primitive_desc_create {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_primitive_desc_create");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_primitive_desc_create(dnnl_primitive_desc_t *primitive_desc, const_dnnl_op_desc_t
     *     op_desc, const_dnnl_primitive_attr_t attr, dnnl_engine_t engine, const_dnnl_primitive_desc_t
     *     hint_forward_primitive_desc);
     * }
     */
    public static int dnnl_primitive_desc_create(MemorySegment primitive_desc, MemorySegment op_desc, MemorySegment attr, MemorySegment engine, MemorySegment hint_forward_primitive_desc) {
        var mh$ = dnnl_primitive_desc_create.HANDLE;
        try {
            return (int) mh$.invokeExact(primitive_desc, op_desc, attr, engine, hint_forward_primitive_desc);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_primitive_desc_query {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_primitive_desc_query");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_primitive_desc_query(const_dnnl_primitive_desc_t primitive_desc, dnnl_query_t
     *     what, int index, void *result);
     * }
     */
    public static int dnnl_primitive_desc_query(MemorySegment primitive_desc, int what, int index, MemorySegment result) {
        var mh$ = dnnl_primitive_desc_query.HANDLE;
        try {
            return (int) mh$.invokeExact(primitive_desc, what, index, result);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_primitive_desc_query_md {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER, C_POINTER, C_INT, C_INT);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_primitive_desc_query_md");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * const dnnl_memory_desc_t *dnnl_primitive_desc_query_md(const_dnnl_primitive_desc_t primitive_desc,
     *     dnnl_query_t what, int index);
     * }
     */
    public static MemorySegment dnnl_primitive_desc_query_md(MemorySegment primitive_desc, int what, int index) {
        var mh$ = dnnl_primitive_desc_query_md.HANDLE;
        try {
            return (MemorySegment) mh$.invokeExact(primitive_desc, what, index);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_primitive_desc_destroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_primitive_desc_destroy");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_primitive_desc_destroy(dnnl_primitive_desc_t primitive_desc);
     * }
     */
    public static int dnnl_primitive_desc_destroy(MemorySegment primitive_desc) {
        var mh$ = dnnl_primitive_desc_destroy.HANDLE;
        try {
            return (int) mh$.invokeExact(primitive_desc);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_primitive_create {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_primitive_create");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_primitive_create(dnnl_primitive_t *primitive, const_dnnl_primitive_desc_t
     *     primitive_desc);
     * }
     */
    public static int dnnl_primitive_create(MemorySegment primitive, MemorySegment primitive_desc) {
        var mh$ = dnnl_primitive_create.HANDLE;
        try {
            return (int) mh$.invokeExact(primitive, primitive_desc);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_primitive_execute {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_primitive_execute");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_primitive_execute(const_dnnl_primitive_t primitive, dnnl_stream_t stream, int
     *     nargs, const dnnl_exec_arg_t *args);
     * }
     */
    public static int dnnl_primitive_execute(MemorySegment primitive, MemorySegment stream, int nargs, MemorySegment args) {
        var mh$ = dnnl_primitive_execute.HANDLE;
        try {
            return (int) mh$.invokeExact(primitive, stream, nargs, args);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_primitive_destroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_primitive_destroy");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_primitive_destroy(dnnl_primitive_t primitive);
     * }
     */
    public static int dnnl_primitive_destroy(MemorySegment primitive) {
        var mh$ = dnnl_primitive_destroy.HANDLE;
        try {
            return (int) mh$.invokeExact(primitive);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_reorder_primitive_desc_create {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_reorder_primitive_desc_create");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_reorder_primitive_desc_create(dnnl_primitive_desc_t *reorder_primitive_desc,
     *     const dnnl_memory_desc_t *src_desc, dnnl_engine_t src_engine, const dnnl_memory_desc_t
     *     *dst_desc, dnnl_engine_t dst_engine, const_dnnl_primitive_attr_t attr);
     * }
     */
    public static int dnnl_reorder_primitive_desc_create(MemorySegment reorder_primitive_desc, MemorySegment src_desc, MemorySegment src_engine, MemorySegment dst_desc, MemorySegment dst_engine, MemorySegment attr) {
        var mh$ = dnnl_reorder_primitive_desc_create.HANDLE;
        try {
            return (int) mh$.invokeExact(reorder_primitive_desc, src_desc, src_engine, dst_desc, dst_engine, attr);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_primitive_attr_create {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_primitive_attr_create");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_primitive_attr_create(dnnl_primitive_attr_t *attr);
     * }
     */
    public static int dnnl_primitive_attr_create(MemorySegment attr) {
        var mh$ = dnnl_primitive_attr_create.HANDLE;
        try {
            return (int) mh$.invokeExact(attr);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_primitive_attr_destroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_primitive_attr_destroy");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_primitive_attr_destroy(dnnl_primitive_attr_t attr);
     * }
     */
    public static int dnnl_primitive_attr_destroy(MemorySegment attr) {
        var mh$ = dnnl_primitive_attr_destroy.HANDLE;
        try {
            return (int) mh$.invokeExact(attr);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_primitive_attr_set_scratchpad_mode {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_primitive_attr_set_scratchpad_mode");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_primitive_attr_set_scratchpad_mode(dnnl_primitive_attr_t attr,
     *     dnnl_scratchpad_mode_t mode);
     * }
     */
    public static int dnnl_primitive_attr_set_scratchpad_mode(MemorySegment attr, int mode) {
        var mh$ = dnnl_primitive_attr_set_scratchpad_mode.HANDLE;
        try {
            return (int) mh$.invokeExact(attr, mode);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_primitive_attr_set_post_ops {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_primitive_attr_set_post_ops");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_primitive_attr_set_post_ops(dnnl_primitive_attr_t attr, const_dnnl_post_ops_t
     *     post_ops);
     * }
     */
    public static int dnnl_primitive_attr_set_post_ops(MemorySegment attr, MemorySegment post_ops) {
        var mh$ = dnnl_primitive_attr_set_post_ops.HANDLE;
        try {
            return (int) mh$.invokeExact(attr, post_ops);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_post_ops_create {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_post_ops_create");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_post_ops_create(dnnl_post_ops_t *post_ops);
     * }
     */
    public static int dnnl_post_ops_create(MemorySegment post_ops) {
        var mh$ = dnnl_post_ops_create.HANDLE;
        try {
            return (int) mh$.invokeExact(post_ops);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_post_ops_destroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_post_ops_destroy");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_post_ops_destroy(dnnl_post_ops_t post_ops);
     * }
     */
    public static int dnnl_post_ops_destroy(MemorySegment post_ops) {
        var mh$ = dnnl_post_ops_destroy.HANDLE;
        try {
            return (int) mh$.invokeExact(post_ops);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_post_ops_append_sum {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_FLOAT);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_post_ops_append_sum");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_post_ops_append_sum(dnnl_post_ops_t post_ops, float scale);
     * }
     */
    public static int dnnl_post_ops_append_sum(MemorySegment post_ops, float scale) {
        var mh$ = dnnl_post_ops_append_sum.HANDLE;
        try {
            return (int) mh$.invokeExact(post_ops, scale);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_post_ops_append_eltwise {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_FLOAT, C_INT, C_FLOAT, C_FLOAT);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_post_ops_append_eltwise");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_post_ops_append_eltwise(dnnl_post_ops_t post_ops, float scale, dnnl_alg_kind_t
     *     alg_kind, float alpha, float beta);
     * }
     */
    public static int dnnl_post_ops_append_eltwise(MemorySegment post_ops, float scale, int alg_kind, float alpha, float beta) {
        var mh$ = dnnl_post_ops_append_eltwise.HANDLE;
        try {
            return (int) mh$.invokeExact(post_ops, scale, alg_kind, alpha, beta);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_set_max_cpu_isa {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_set_max_cpu_isa");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_status_t dnnl_set_max_cpu_isa(dnnl_cpu_isa_t isa);
     * }
     */
    public static int dnnl_set_max_cpu_isa(int isa) {
        var mh$ = dnnl_set_max_cpu_isa.HANDLE;
        try {
            return (int) mh$.invokeExact(isa);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_get_effective_cpu_isa {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_get_effective_cpu_isa");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * dnnl_cpu_isa_t dnnl_get_effective_cpu_isa(void);
     * }
     */
    public static int dnnl_get_effective_cpu_isa() {
        var mh$ = dnnl_get_effective_cpu_isa.HANDLE;
        try {
            return (int) mh$.invokeExact();
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class dnnl_version {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER);
        static final MemorySegment ADDR = LIBRARY.findOrThrow("dnnl_version");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * {@snippet lang=c :
     * const dnnl_version_t *dnnl_version(void);
     * }
     */
    public static MemorySegment dnnl_version() {
        var mh$ = dnnl_version.HANDLE;
        try {
            return (MemorySegment) mh$.invokeExact();
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
}
