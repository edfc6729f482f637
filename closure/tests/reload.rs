//! Weights written by training reload bit for bit, and ml-server's inference model gives
//! the output the network had at the end of training.

use closure::network::{Loss, Network};
use closure::samples::Samples;
use closure::train::{train, Settings};
use ml_server::config::Padding;
use ml_server::models::fullycnn::FullyCnn;
use ml_server::models::Model;
use tch::{Device, Kind, Tensor};

/// libtorch's seed and thread count are global: the tests of this file take turns.
static TORCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn samples(n: i64, seed: i64) -> Samples {
    tch::manual_seed(seed);
    let x = Tensor::randn([n, 2, 32, 28], (Kind::Float, Device::Cpu));
    // A learnable target: a smooth function of the input's interior.
    let y = x.narrow(2, 10, 12).narrow(3, 10, 8).tanh() * 0.5;
    Samples {
        x,
        y,
        times: (0..n).map(|k| k as f64 * 86_400.0).collect(),
    }
}

#[test]
fn trained_weights_reload_bit_for_bit_and_ml_server_agrees() {
    let _turn = TORCH.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    let (data, val) = (samples(12, 1), samples(4, 2));
    let mask = Tensor::ones([1, 2, 12, 8], (Kind::Float, Device::Cpu));
    let settings = Settings {
        epochs: 3,
        batch: 4,
        learning_rate: 1e-3,
        decay_at: vec![],
        seed: 7,
        loss: Loss::Gaussian,
        clip_norm: 1.0,
    };
    tch::manual_seed(settings.seed);
    let mut net = Network::new(Device::Cpu);
    let history = train(&mut net, &data, &val, &mask, &settings, None).expect("training runs");
    assert!(
        history.train_loss[2] < history.train_loss[0],
        "the loss falls: {:?}",
        history.train_loss
    );

    let dir = std::env::temp_dir().join(format!("closure-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("w.safetensors");
    net.vs.save(&file).expect("weights saved");

    // Bit for bit into a fresh network.
    let mut again = Network::new(Device::Cpu);
    again.vs.load(&file).expect("weights load");
    for (name, t) in net.vs.variables() {
        let u = &again.vs.variables()[&name];
        assert!(t.equal(u), "{name} differs after reload");
    }
    let x = val.x.shallow_clone();
    let (a, b) = tch::no_grad(|| (net.forward(&x), again.forward(&x)));
    assert!(a.equal(&b), "the reloaded network's output differs");

    // ml-server's FullyCNN on the same file: the same (μ, p) up to fp32 round-off.
    let served = FullyCnn::load(
        &file,
        Padding::Valid,
        false,
        Device::Cpu,
        Kind::Float,
        false,
    )
    .expect("ml-server reads the trained weights");
    let c = served.forward(&x).expect("ml-server forward");
    let diff = (&a - &c).abs().max().double_value(&[]);
    let scale = a.abs().max().double_value(&[]);
    assert!(
        diff <= 1e-5 * scale,
        "ml-server differs by {diff} (scale {scale})"
    );
    assert!((served.min_value() - net.min_value()).abs() == 0.0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn training_is_reproducible_and_resumes_where_it_stopped() {
    let _turn = TORCH.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    let (data, val) = (samples(8, 3), samples(4, 4));
    let mask = Tensor::ones([1, 2, 12, 8], (Kind::Float, Device::Cpu));
    let settings = |epochs| Settings {
        epochs,
        batch: 4,
        learning_rate: 1e-3,
        decay_at: vec![1],
        seed: 11,
        loss: Loss::Mse,
        clip_norm: 1.0,
    };
    let run = |epochs, dir: Option<&std::path::Path>| {
        tch::manual_seed(11);
        let mut net = Network::new(Device::Cpu);
        train(&mut net, &data, &val, &mask, &settings(epochs), dir).expect("training runs");
        net
    };
    let (a, b) = (run(2, None), run(2, None));
    for (name, t) in a.vs.variables() {
        assert!(
            t.equal(&b.vs.variables()[&name]),
            "{name}: two seeded runs differ"
        );
    }
    // One epoch, stop, then resume to two: the same weights as far as Adam's restarted
    // moments allow — the epochs, schedule and shuffles continue, so the loss goes on falling.
    let dir = std::env::temp_dir().join(format!("closure-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    run(1, Some(&dir));
    let progress: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("progress.json")).unwrap()).unwrap();
    assert_eq!(progress["epochs_done"], 1);
    run(2, Some(&dir));
    let progress: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("progress.json")).unwrap()).unwrap();
    assert_eq!(progress["epochs_done"], 2);
    assert_eq!(
        progress["history"]["train_loss"].as_array().unwrap().len(),
        2
    );
    std::fs::remove_dir_all(&dir).ok();
}
