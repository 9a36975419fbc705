;; The optimizer updates of train/onnxruntime as SIMD loops over one linear memory: the same
;; float32 operations in the same order as optimizer-graph.ts (so the same bits), one pass over
;; each buffer instead of one onnxruntime kernel (and one memory pass) per operation.
;; Every buffer starts 16-byte aligned and is padded to a multiple of 4 floats, so `n4` counts
;; 4-float vectors and no scalar tail is needed. Rebuild the binary with `npm run build:kernels`.
(module
  (import "env" "memory" (memory 1 65536))

  ;; AdamW, in place: m = m*b1 + g*c1; v = v*b2 + (g*g)*c2; w = w*decay - m / (sqrt(v)*a + b)
  (func (export "adamw")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32) (param $n4 i32)
    (param $c1 f32) (param $c2 f32) (param $a f32) (param $b f32) (param $decay f32)
    (local $b1 v128) (local $b2 v128) (local $c1x v128) (local $c2x v128)
    (local $ax v128) (local $bx v128) (local $dx v128)
    (local $gi v128) (local $mi v128) (local $vi v128)
    (local.set $b1 (f32x4.splat (f32.const 0.9)))
    (local.set $b2 (f32x4.splat (f32.const 0.999)))
    (local.set $c1x (f32x4.splat (local.get $c1)))
    (local.set $c2x (f32x4.splat (local.get $c2)))
    (local.set $ax (f32x4.splat (local.get $a)))
    (local.set $bx (f32x4.splat (local.get $b)))
    (local.set $dx (f32x4.splat (local.get $decay)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n4)))
        (local.set $gi (v128.load (local.get $g)))
        (local.set $mi (f32x4.add (f32x4.mul (v128.load (local.get $m)) (local.get $b1))
                                  (f32x4.mul (local.get $gi) (local.get $c1x))))
        (local.set $vi (f32x4.add (f32x4.mul (v128.load (local.get $v)) (local.get $b2))
                                  (f32x4.mul (f32x4.mul (local.get $gi) (local.get $gi)) (local.get $c2x))))
        (v128.store (local.get $m) (local.get $mi))
        (v128.store (local.get $v) (local.get $vi))
        (v128.store (local.get $w)
          (f32x4.sub (f32x4.mul (v128.load (local.get $w)) (local.get $dx))
                     (f32x4.div (local.get $mi)
                                (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vi)) (local.get $ax)) (local.get $bx)))))
        (local.set $w (i32.add (local.get $w) (i32.const 16)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $m (i32.add (local.get $m) (i32.const 16)))
        (local.set $v (i32.add (local.get $v) (i32.const 16)))
        (local.set $n4 (i32.sub (local.get $n4) (i32.const 1)))
        (br $next))))

  ;; SGD, in place: d = g*gscale; [d = d + w*wd]; [mom = mom*mu + d; d = mom]; w = w - d*lr
  ;; (the bracketed terms only when $decay / $momentum are non-zero, as in the graph)
  (func (export "sgd")
    (param $w i32) (param $g i32) (param $mom i32) (param $n4 i32)
    (param $gscale f32) (param $wd f32) (param $mu f32) (param $lr f32)
    (param $decay i32) (param $momentum i32)
    (local $gx v128) (local $wdx v128) (local $mux v128) (local $lrx v128)
    (local $wi v128) (local $d v128)
    (local.set $gx (f32x4.splat (local.get $gscale)))
    (local.set $wdx (f32x4.splat (local.get $wd)))
    (local.set $mux (f32x4.splat (local.get $mu)))
    (local.set $lrx (f32x4.splat (local.get $lr)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n4)))
        (local.set $wi (v128.load (local.get $w)))
        (local.set $d (f32x4.mul (v128.load (local.get $g)) (local.get $gx)))
        (if (local.get $decay)
          (then (local.set $d (f32x4.add (local.get $d) (f32x4.mul (local.get $wi) (local.get $wdx))))))
        (if (local.get $momentum)
          (then
            (local.set $d (f32x4.add (f32x4.mul (v128.load (local.get $mom)) (local.get $mux)) (local.get $d)))
            (v128.store (local.get $mom) (local.get $d))
            (local.set $mom (i32.add (local.get $mom) (i32.const 16)))))
        (v128.store (local.get $w) (f32x4.sub (local.get $wi) (f32x4.mul (local.get $d) (local.get $lrx))))
        (local.set $w (i32.add (local.get $w) (i32.const 16)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $n4 (i32.sub (local.get $n4) (i32.const 1)))
        (br $next))))
)
