import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Drives the Java Kafka client (kafka-clients 3.9.1) against a broker, one step per invocation;
 * compat/tests/test_java_client.py runs it and checks the tab-separated lines it prints.
 *
 * <pre>
 *   create   BOOTSTRAP TOPIC PARTITIONS [REPLICATION_FACTOR]      -> "CREATED"
 *   produce  BOOTSTRAP TOPIC CODEC RECORDS_FILE                   -> "A seq partition offset" per ack
 *   consume  BOOTSTRAP TOPIC PARTITIONS EXPECTED TIMEOUT_MS       -> "C partition offset key value timestamp headers"
 *   offsets  BOOTSTRAP TOPIC PARTITION:SPEC...  (SPEC = earliest | latest | timestamp)
 *                                               -> "O admin|consumer partition spec offset" (-1: none)
 *   delete   BOOTSTRAP TOPIC                                      -> "DELETED"
 *   topics   BOOTSTRAP                                            -> "T name" per topic
 *   cluster  BOOTSTRAP                                            -> "N id host port", "CONTROLLER id", "CLUSTER_ID id"
 * </pre>
 * RECORDS_FILE lines: seq TAB key TAB value TAB timestamp TAB name=value;name=value (ASCII only).
 * Exit code 0 on success; an exception is printed and exits 1.
 */
public final class WeirCompat {
    private static final int TIMEOUT_S = 30;

    public static void main(String[] args) throws Exception {
        try {
            run(args);
            System.out.flush();
        } catch (Exception e) {
            System.out.flush();
            System.err.println("ERROR " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String[] a) throws Exception {
        switch (a[0]) {
            case "create": create(a[1], a[2], Integer.parseInt(a[3]), a.length > 4 ? Short.parseShort(a[4]) : 1); break;
            case "produce": produce(a[1], a[2], a[3], a[4]); break;
            case "consume": consume(a[1], a[2], Integer.parseInt(a[3]), Integer.parseInt(a[4]), Long.parseLong(a[5])); break;
            case "offsets": offsets(a[1], a[2], java.util.Arrays.copyOfRange(a, 3, a.length)); break;
            case "delete": delete(a[1], a[2]); break;
            case "topics": topics(a[1]); break;
            case "cluster": cluster(a[1]); break;
            default: throw new IllegalArgumentException("unknown command " + a[0]);
        }
    }

    private static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, TIMEOUT_S * 1000);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, TIMEOUT_S * 1000);
        return Admin.create(p);
    }

    private static void create(String bootstrap, String topic, int partitions, short rf) throws Exception {
        try (Admin admin = admin(bootstrap)) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, rf))).all().get(TIMEOUT_S, TimeUnit.SECONDS);
            System.out.println("CREATED");
        }
    }

    private static void delete(String bootstrap, String topic) throws Exception {
        try (Admin admin = admin(bootstrap)) {
            admin.deleteTopics(List.of(topic)).all().get(TIMEOUT_S, TimeUnit.SECONDS);
            System.out.println("DELETED");
        }
    }

    private static void topics(String bootstrap) throws Exception {
        try (Admin admin = admin(bootstrap)) {
            for (String name : admin.listTopics().names().get(TIMEOUT_S, TimeUnit.SECONDS)) {
                System.out.println("T\t" + name);
            }
        }
    }

    private static void cluster(String bootstrap) throws Exception {
        try (Admin admin = admin(bootstrap)) {
            DescribeClusterResult r = admin.describeCluster();
            for (Node n : r.nodes().get(TIMEOUT_S, TimeUnit.SECONDS)) {
                System.out.println("N\t" + n.id() + "\t" + n.host() + "\t" + n.port());
            }
            System.out.println("CONTROLLER\t" + r.controller().get(TIMEOUT_S, TimeUnit.SECONDS).id());
            System.out.println("CLUSTER_ID\t" + r.clusterId().get(TIMEOUT_S, TimeUnit.SECONDS));
        }
    }

    private static void produce(String bootstrap, String topic, String codec, String recordsFile) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
        // Idempotence needs InitProducerId, which this broker does not offer yet.
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        ConcurrentLinkedQueue<String> out = new ConcurrentLinkedQueue<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (String line : Files.readAllLines(Paths.get(recordsFile), StandardCharsets.US_ASCII)) {
                String[] f = line.split("\t", -1);
                String seq = f[0];
                List<Header> headers = new ArrayList<>();
                if (!f[4].isEmpty()) {
                    for (String h : f[4].split(";")) {
                        int eq = h.indexOf('=');
                        headers.add(new RecordHeader(h.substring(0, eq), bytes(h.substring(eq + 1))));
                    }
                }
                ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(topic, null, Long.parseLong(f[3]),
                        bytes(f[1]), bytes(f[2]), headers);
                producer.send(rec, (md, err) -> out.add(err != null
                        ? "E\t" + seq + "\t" + err
                        : "A\t" + seq + "\t" + md.partition() + "\t" + md.offset()));
            }
            producer.flush();
        }
        StringBuilder sb = new StringBuilder();
        for (String line : out) sb.append(line).append('\n');
        System.out.print(sb);
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false); // no group.id: assign() only
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10_000);
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, TIMEOUT_S * 1000);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        return new KafkaConsumer<>(p);
    }

    private static void consume(String bootstrap, String topic, int partitions, int expected, long timeoutMs) {
        StringBuilder sb = new StringBuilder();
        int count = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(bootstrap)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < partitions; i++) tps.add(new TopicPartition(topic, i));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            long deadline = System.currentTimeMillis() + timeoutMs;
            // Read until `expected` arrived, then one more short poll to catch extra records.
            boolean extraPollDone = false;
            while (!extraPollDone && System.currentTimeMillis() < deadline) {
                extraPollDone = count >= expected;
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    count++;
                    sb.append("C\t").append(r.partition()).append('\t').append(r.offset()).append('\t')
                      .append(str(r.key())).append('\t').append(str(r.value())).append('\t')
                      .append(r.timestamp()).append('\t');
                    boolean first = true;
                    for (Header h : r.headers()) {
                        if (!first) sb.append(';');
                        first = false;
                        sb.append(h.key()).append('=').append(str(h.value()));
                    }
                    sb.append('\n');
                }
            }
        }
        System.out.print(sb);
    }

    private static void offsets(String bootstrap, String topic, String[] queries) throws Exception {
        Map<TopicPartition, OffsetSpec> specs = new HashMap<>();
        try (Admin admin = admin(bootstrap); KafkaConsumer<byte[], byte[]> consumer = consumer(bootstrap)) {
            for (String q : queries) {
                String[] f = q.split(":", 2);
                TopicPartition tp = new TopicPartition(topic, Integer.parseInt(f[0]));
                OffsetSpec spec = f[1].equals("earliest") ? OffsetSpec.earliest()
                        : f[1].equals("latest") ? OffsetSpec.latest()
                        : OffsetSpec.forTimestamp(Long.parseLong(f[1]));
                ListOffsetsResult.ListOffsetsResultInfo info =
                        admin.listOffsets(Map.of(tp, spec)).partitionResult(tp).get(TIMEOUT_S, TimeUnit.SECONDS);
                System.out.println("O\tadmin\t" + tp.partition() + "\t" + f[1] + "\t" + info.offset());

                Long offset;
                if (f[1].equals("earliest")) {
                    offset = consumer.beginningOffsets(List.of(tp)).get(tp);
                } else if (f[1].equals("latest")) {
                    offset = consumer.endOffsets(List.of(tp)).get(tp);
                } else {
                    OffsetAndTimestamp ot = consumer.offsetsForTimes(
                            Collections.singletonMap(tp, Long.parseLong(f[1]))).get(tp);
                    offset = ot == null ? -1L : ot.offset();
                }
                System.out.println("O\tconsumer\t" + tp.partition() + "\t" + f[1] + "\t" + offset);
            }
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static String str(byte[] b) {
        return b == null ? "\\N" : new String(b, StandardCharsets.US_ASCII);
    }

    private WeirCompat() {
    }

    static {
        // Keep the client's own logging quiet (slf4j has no binding here anyway).
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    }
}
