fn main() {
    let h = avatargen::head::Head::new();
    let f = avatargen::head::build_face(&h);
    let b = &f.b;
    let n = 112;
    for ring in [40usize] {
        for j in [107usize, 108, 109, 110, 111, 0, 1, 2, 3, 4, 5] {
            let idx = ring * n + j;
            let p = b.pos[idx];
            let d = (p - h.o).norm();
            println!(
                "ring {ring} j {j} r={:.6} sdf_at={:.2e} p=({:.5},{:.5},{:.5})",
                (p - h.o).len(),
                h.sdf(p),
                p.x,
                p.y,
                p.z
            );
            let _ = d;
        }
    }
}
